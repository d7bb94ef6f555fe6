"""Nothing waits silently: the readiness rules (domain.readiness) over this deployment's Airflow, shown
where ops staff look: a line per finding when `safepassage init` and `make airflow` start, and as
alerts on the Airflow UI's dashboard (plugins/airflow_local_settings.py), computed when a page loads.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from safepassage.domain.readiness import Finding, check
from safepassage.orchestration.connections import EMULATORS_DESCRIPTOR_ENV, GOOGLE_ADS_CONN_ID, META_CONN_ID
from safepassage.orchestration.pools import DESCRIPTIONS

log = logging.getLogger(__name__)
MARKS = {"error": "✗", "warning": "!", "info": "·"}


def needed_connections() -> tuple[str, ...]:
    """The platform Connections the tasks read, unless they talk to the emulators."""
    return () if os.environ.get(EMULATORS_DESCRIPTOR_ENV) else (GOOGLE_ADS_CONN_ID, META_CONN_ID)


def current_findings() -> list[Finding]:
    from airflow.utils.session import create_session

    from safepassage.adapters.airflow_metadata import read_state

    with create_session() as session:
        return check(read_state(session, frozenset(DESCRIPTIONS), needed_connections()))


def report_lines(findings: list[Finding]) -> list[str]:
    if not findings:
        return ["Ready: pools, Connections and the chain's DAGs are in place."]
    return [f"{MARKS[f.level]} {f.level}: {f.text}" for f in findings]


class DashboardAlerts(list[Any]):
    """Airflow's documented hook for dynamic dashboard alerts: a list whose items are computed each
    time the UI reads them (at most every few seconds)."""

    def __init__(self, ttl_seconds: float = 5) -> None:
        super().__init__()
        self.ttl = ttl_seconds
        self._cached: tuple[float, list[Any]] = (float("-inf"), [])

    def __iter__(self) -> Iterator[Any]:
        checked_at, alerts = self._cached
        if time.monotonic() - checked_at > self.ttl:
            alerts = self._compute()
            self._cached = (time.monotonic(), alerts)
        return iter(alerts)

    def __len__(self) -> int:
        return len(list(iter(self)))

    @staticmethod
    def _compute() -> list[Any]:
        from airflow.api_fastapi.common.types import UIAlert

        try:
            findings = current_findings()
        except Exception as error:  # the dashboard must load even if a check cannot run
            log.warning("SafePassage readiness check failed: %s", type(error).__name__)
            return [
                UIAlert(
                    text="SafePassage could not check its readiness (see the API server's log).",
                    category="warning",
                )
            ]
        return [UIAlert(text=f"**SafePassage:** {f.text}", category=f.level) for f in findings]
