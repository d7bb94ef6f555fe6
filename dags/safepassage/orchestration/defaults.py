"""Defaults every SafePassage DAG shares (owner, retries with backoff, failure alerts, daily schedules)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from safepassage.orchestration.alerts import send_failure_alert

DEFAULT_ARGS = {
    "owner": "safepassage-ops",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    # A try running this long is stuck (a platform call that never returns): fail it into a retry.
    # Quota waits are rescheduled (orchestration/retries.py) and a review's wait for its person is
    # bounded by its own response_timeout, so neither counts against this.
    "execution_timeout": timedelta(minutes=30),
    "on_failure_callback": send_failure_alert,  # webhook / e-mail from the safepassage_alerts Connection
}


def daily_at(cron: str) -> Any:
    """A daily cron schedule (UTC) whose first run is its next time after the DAG is switched on.

    With a past `start_date`, Airflow would run today's slot the moment the DAG is unpaused (and a
    fresh Airflow such as `make demo`'s would start by running every DAG for today). Time-scheduled
    DAGs therefore set no `start_date` and `run_immediately` to zero: nothing runs by surprise.
    """
    from airflow.sdk import CronTriggerTimetable

    return CronTriggerTimetable(cron, timezone="UTC", run_immediately=timedelta(0))
