"""Airflow's local settings for SafePassage (Airflow puts the plugins folder on every component's path).

DASHBOARD_UIALERTS: what would make a SafePassage task wait silently (a missing pool or Connection, a
paused DAG the chain needs) is shown on the UI's dashboard, checked when the page loads.
"""

from __future__ import annotations

from safepassage.orchestration.readiness import DashboardAlerts

__all__ = ["DASHBOARD_UIALERTS"]  # Airflow copies every public name into airflow.settings

DASHBOARD_UIALERTS = DashboardAlerts()
