"""Local runs put Airflow's API server on loopback unless configured otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from safepassage import settings


def test_api_server_binds_loopback_by_default_and_obeys_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW__API__HOST", raising=False)
    assert settings.airflow_environment()["AIRFLOW__API__HOST"] == "127.0.0.1"
    monkeypatch.setenv("AIRFLOW__API__HOST", "10.0.0.5")
    assert settings.airflow_environment()["AIRFLOW__API__HOST"] == "10.0.0.5"


def test_airflow_itself_reads_the_loopback_host(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "AIRFLOW__API__HOST"}
    env["AIRFLOW_HOME"] = str(tmp_path)
    probe = (
        "from safepassage import settings; settings.apply_airflow_environment(); "
        "from airflow.configuration import conf; print(conf.get('api', 'host'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "127.0.0.1"
