"""The environment `make airflow` and `safepassage airflow` give Airflow: a fresh clone works without an
activated virtualenv, and nothing starts by itself."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from safepassage import settings


def test_the_virtualenv_scripts_come_first_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # `airflow standalone` starts `airflow scheduler` & co. by name: without the venv on PATH every
    # component died with FileNotFoundError: 'airflow'.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    environment = settings.airflow_environment()
    scripts = Path(sys.executable).parent
    assert environment["PATH"].split(os.pathsep)[0] == str(scripts)
    assert shutil.which("airflow", path=environment["PATH"]) == str(scripts / "airflow")
    monkeypatch.setenv("PATH", environment["PATH"])
    assert settings.airflow_environment()["PATH"] == environment["PATH"], "added once, not again"


def test_dags_are_paused_at_creation_outside_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", raising=False)
    assert settings.airflow_environment()["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"


def test_the_demo_has_its_own_airflow_home_and_metadata_db() -> None:
    from safepassage_dev.demo import demo_airflow

    demo = demo_airflow()
    normal = Path(settings.airflow_environment()["AIRFLOW_HOME"])
    assert demo.home != normal and demo.home.is_relative_to(settings.data_dir() / "demo")
    assert demo.env["AIRFLOW_HOME"] == str(demo.home)
    assert demo.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{demo.home / 'airflow.db'}"
    assert demo.env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False"  # the demo runs its own
    assert demo.env["AIRFLOW__API__HOST"] == "127.0.0.1"
