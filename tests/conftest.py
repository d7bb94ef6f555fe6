"""Shared fixtures. Airflow's environment is set before anything imports Airflow."""

from __future__ import annotations

from safepassage import settings

settings.apply_airflow_environment()

pytest_plugins = ["safepassage.sandbox.testing"]
