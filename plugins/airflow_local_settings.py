"""Airflow's local settings for SafePassage (Airflow puts the plugins folder on every component's path).

DASHBOARD_UIALERTS: what would make a SafePassage task wait silently (a missing pool or Connection, a
paused DAG the chain needs) is shown on the UI's dashboard, checked when the page loads.

In the scheduler (LocalExecutor) and the Celery worker, the modules SafePassage's tasks import are
imported here, before those processes fork a process per task (orchestration/preload.py).
"""

from __future__ import annotations

import sys

from safepassage.orchestration.preload import preload_if_forking
from safepassage.orchestration.readiness import DashboardAlerts

preload_if_forking(sys.argv)

__all__ = ["DASHBOARD_UIALERTS"]  # Airflow copies every public name into airflow.settings

DASHBOARD_UIALERTS = DashboardAlerts()
