"""Defaults every SafePassage DAG shares (owner, retries with backoff)."""

from __future__ import annotations

from datetime import timedelta

DEFAULT_ARGS = {
    "owner": "safepassage-ops",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}
