"""Defaults every SafePassage DAG shares (owner, retries with backoff, a time limit per try).

No SafePassage task should run half an hour: a try that does is stuck (a platform call that never
returns), and the limit turns it into a retry. Waits for a platform's quota do not count: they are
rescheduled (orchestration/retries.py), and a review waits for its person under its own
`response_timeout` (`execution_timeout` only bounds the HITL task's own work, not the wait)."""

from __future__ import annotations

from datetime import timedelta

DEFAULT_ARGS = {
    "owner": "safepassage-ops",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(minutes=30),
}
