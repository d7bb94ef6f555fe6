"""After a FAILING kill-switch run, with fake secrets in every Airflow Connection, none of them is
anywhere: not in the task logs or the terminal, not in the warehouse, not in XCom or anything else in
Airflow's metadata database, not in a temporary file. The run must really fail through the secrets:
Google refuses the fake developer token, and Meta's requests fail with the token in their URL."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from safepassage.cli import main

DAGS = Path(__file__).parents[2] / "dags"


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dump_database(url: str) -> str:
    """Every row of every table, as text."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return "\n".join(
                repr(row)
                for table in inspect(connection).get_table_names()
                for row in connection.execute(text(f'SELECT * FROM "{table}"'))
            )
    finally:
        engine.dispose()


@pytest.fixture
def every_log_record() -> Iterator[list[str]]:
    """Every log record of the process, formatted with its traceback, whatever its level."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(logging.Formatter("%(name)s %(message)s").format(record))

    handler, root = Keep(level=logging.DEBUG), logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)


@pytest.mark.slow
def test_no_secret_survives_a_failing_run(
    airflow_db: Path,
    emulators: Any,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    every_log_record: list[str],
) -> None:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    marker = uuid.uuid4().hex[:12]
    developer_token = f"FAKE-DEV-TOKEN-{marker}"
    app_secret, access_token = f"FAKE-APP-SECRET-{marker}", f"FAKE-META-TOKEN-{marker}"
    proof = hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
    warehouse_password = f"FAKE-PG-PASSWORD-{marker}"
    service_account = json.loads(Path(emulators.google.service_account_file).read_text())
    key_line = service_account["private_key"].splitlines()[3]  # a line of the key's body
    secrets = {
        "developer token": developer_token,
        "Meta app secret": app_secret,
        "Meta access token": access_token,
        "appsecret_proof": proof,
        "warehouse password": warehouse_password,
        "service-account key": key_line,
    }

    descriptor = emulators.descriptor
    monkeypatch.delenv("SAFEPASSAGE_EMULATORS_DESCRIPTOR", raising=False)
    monkeypatch.delenv("SAFEPASSAGE_WAREHOUSE_URL", raising=False)
    google_extra = {
        "google_ads_client": {
            "developer_token": developer_token,
            "endpoint": descriptor["google_ads"]["endpoint"],
        },
        "keyfile_dict": service_account,  # inline: it must stay in memory
        "customer_ids": list(emulators.customer_ids),
        "ca_cert": descriptor["google_ads"]["ca_cert"],
    }
    meta_extra = {
        "app_id": descriptor["meta"]["app_id"],
        "app_secret": app_secret,
        "access_token": access_token,
        "account_id": list(emulators.ad_account_ids),
        "graph_url": f"http://127.0.0.1:{closed_loopback_port()}",  # nothing listens: requests fails
    }
    database = postgres_url.rsplit("/", 1)[1]
    warehouse_connection = {
        "conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres",
        "password": warehouse_password, "schema": database,
    }  # fmt: skip
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOOGLE_ADS_DEFAULT", json.dumps({"conn_type": "generic", "extra": google_extra})
    )
    monkeypatch.setenv("AIRFLOW_CONN_META_DEFAULT", json.dumps({"conn_type": "generic", "extra": meta_extra}))
    monkeypatch.setenv("AIRFLOW_CONN_SAFEPASSAGE_WAREHOUSE", json.dumps(warehouse_connection))
    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", "tests.push_support.loopback_hostname")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))

    dag = DagBag(dag_folder=str(DAGS)).dags["kill_switch"]
    run = dag.test(
        run_conf={"country": "PL", "action": "pause", "reason": "Fake job ads quoting our helpline"}
    )
    exit_code = main(["pause", "--country", "PL", "--reason", "Fake job ads quoting our helpline"])

    terminal = capfd.readouterr()
    output = terminal.out + terminal.err + "\n".join(every_log_record)
    # It failed, and through the secrets: Google refused the developer token; Meta's URL carried the
    # token (now scrubbed); the warehouse took the pause through the Connection's password.
    assert run.state == DagRunState.FAILED and exit_code == 1
    assert "NOT fully paused" in output and "google_ads" in output and "meta act_" in output
    assert "DEVELOPER_TOKEN_INVALID" in output
    assert "access_token=***" in output and "appsecret_proof=***" in output
    warehouse = dump_database(postgres_url)
    assert "Fake job ads quoting our helpline" in warehouse and "FAILED" in warehouse

    airflow_metadata = dump_database(f"sqlite:///{airflow_db / 'airflow.db'}")
    task_logs = "\n".join(
        path.read_text(errors="replace") for path in (airflow_db / "logs").rglob("*") if path.is_file()
    )
    temporary_files = "\n".join(
        path.read_text(errors="replace") for path in private_tmp.rglob("*") if path.is_file()
    )
    places = {
        "terminal and logs": output,
        "task log files": task_logs,
        "warehouse": warehouse,
        "Airflow metadata (XCom, task instances, runs)": airflow_metadata,
        "temporary files": temporary_files,
    }
    leaks = [f"{what} in {where}" for where, found in places.items() for what, secret in secrets.items()
             if secret in found]  # fmt: skip
    assert leaks == []
