"""The readiness snapshot read from a real Airflow metadata DB (SQLite, migrated by `airflow db migrate`)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_a_connection_is_found_wherever_airflow_looks_and_a_missing_one_is_not(
    airflow_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safepassage.adapters.airflow_metadata import connection_exists

    assert not connection_exists("sp_readiness_nowhere")
    monkeypatch.setenv("AIRFLOW_CONN_SP_READINESS_IN_ENV", "http://127.0.0.1:9")
    assert connection_exists("sp_readiness_in_env")


def test_the_snapshot_names_missing_pools_and_connections(airflow_db: Path) -> None:
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    from safepassage.adapters.airflow_metadata import read_state
    from safepassage.domain.readiness import check

    Pool.create_or_update_pool("sp_readiness_present", 1, "test", include_deferred=False)
    with create_session() as session:
        state = read_state(
            session, frozenset({"sp_readiness_present", "sp_readiness_absent"}), ("sp_readiness_nowhere",)
        )
    assert "sp_readiness_present" in state.pools and "default_pool" in state.pools
    assert state.missing_connections == ("sp_readiness_nowhere",)
    assert {finding.rule for finding in check(state)} >= {"missing_pools", "missing_connections"}
    assert not any("sp_readiness_present" in finding.text for finding in check(state))
