"""A full successful chain with distinctive secrets in every Connection leaves none of them in any
artefact: refresh_targeting → render_creatives → allocate_budgets → push_campaigns (Google and Meta,
approved, a Meta request refused once by the emulators) → pull_performance → impact_report, each run
with dag.test() against the emulators and a PostgreSQL warehouse reached through a Connection with a
password. Scanned: the terminal and every log record, the task log files, Airflow's metadata DB
(XCom, task instances, HITL, runs), every table of the warehouse (the apply log among them), the
report's HTML/PDF and the partner export, and the temporary folder. The kill switch's failing run
is scanned the same way in tests/dags/test_secrets_stay_secret.py."""

from __future__ import annotations

import datetime as dt
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

from tests.reliability.secret_scan import database_dump, files_under, leaks

DAGS = Path(__file__).parents[2] / "dags"


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def every_log_record() -> Iterator[list[str]]:
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
def test_no_secret_survives_a_full_run(
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

    from ad_emulators.faults import FaultPlan, FaultRule
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.reference_data import sync_reference_data
    from tests.local_reviewer import LocalReviewer

    descriptor = emulators.descriptor
    google_client = dict(descriptor["google_ads"]["client_config"])
    key_file = Path(google_client.pop("json_key_file_path", "") or emulators.google.service_account_file)
    service_account = json.loads(key_file.read_text())
    meta = descriptor["meta"]
    marker = uuid.uuid4().hex[:12]
    warehouse_password = f"FAKE-PG-PASSWORD-{marker}"
    webhook_token = f"FAKE-WEBHOOK-TOKEN-{marker}"
    secrets = {
        "developer token": google_client["developer_token"],
        "service-account key": service_account["private_key"].splitlines()[3],
        "Meta app secret": meta["app_secret"],
        "Meta access token": meta["access_token"],
        "appsecret_proof": hmac.new(
            meta["app_secret"].encode(), meta["access_token"].encode(), hashlib.sha256
        ).hexdigest(),
        "warehouse password": warehouse_password,
        "alerts webhook token": webhook_token,
    }
    assert all(len(secret) >= 16 for secret in secrets.values()), "secrets distinctive enough to find"

    monkeypatch.delenv("SAFEPASSAGE_EMULATORS_DESCRIPTOR", raising=False)
    monkeypatch.delenv("SAFEPASSAGE_WAREHOUSE_URL", raising=False)
    google_extra = {
        "google_ads_client": google_client,
        "keyfile_dict": service_account,  # inline: it must stay in memory
        "customer_ids": list(emulators.customer_ids),
        "ca_cert": descriptor["google_ads"]["ca_cert"],
    }
    meta_extra = {
        "app_id": meta["app_id"],
        "app_secret": meta["app_secret"],
        "access_token": meta["access_token"],
        "account_id": list(meta["ad_account_ids"]),
        "graph_url": meta["graph_url"],
    }
    database = postgres_url.rsplit("/", 1)[1]
    warehouse_connection = {
        "conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres",
        "password": warehouse_password, "schema": database,
    }  # fmt: skip
    webhook = f"http://127.0.0.1:{closed_loopback_port()}/hooks/{webhook_token}"
    for conn_id, value in {
        "GOOGLE_ADS_DEFAULT": {"conn_type": "generic", "extra": google_extra},
        "META_DEFAULT": {"conn_type": "generic", "extra": meta_extra},
        "SAFEPASSAGE_WAREHOUSE": warehouse_connection,
        "SAFEPASSAGE_ALERTS": {"conn_type": "generic", "extra": {"webhook_url": webhook}},
    }.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", json.dumps(value))
    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", "tests.push_support.loopback_hostname")
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SAFEPASSAGE_DATA_DIR", str(data_dir))
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))

    warehouse = Warehouse(postgres_url)
    warehouse.migrate()
    sync_reference_data(load_campaign_config(), warehouse)
    warehouse.dispose()
    dags = DagBag(dag_folder=str(DAGS)).dags
    states: dict[str, str] = {}

    def run(dag_id: str, **conf: Any) -> None:
        result = dags[dag_id].test(run_conf=conf or None)
        states[dag_id] = str(result.state)
        assert result.state == DagRunState.SUCCESS, (
            dag_id,
            {ti.task_id: str(ti.state) for ti in result.get_task_instances()},
        )

    # Connections, not the emulators descriptor: the accounts count as live, so the replay says so.
    run("refresh_targeting", as_of="2022-03-28", replay_on_live=True)
    run("render_creatives")
    run("allocate_budgets")
    # The first Meta write is refused once (application request limit): the push waits and converges.
    emulators.faults = FaultPlan(
        (
            FaultRule(
                platform="meta",
                match="POST /",
                kind="app_rate_limit",
                nth=(1,),
                params={"estimated_time_to_regain_access": 0},
            ),
        )
    )
    reviewer = LocalReviewer("Approve", "checked", user="reviewer-anna")
    reviewer.start()
    run("push_campaigns")
    reviewer.join(timeout=5)
    assert reviewer.answered.is_set()  # the first push needed a person: it read the Connection's warehouse
    emulators.clock.set(dt.datetime(2022, 4, 20, tzinfo=dt.UTC))
    run("pull_performance", **{"from": "2022-03-25", "to": "2022-04-19"})
    run("impact_report", **{"from": "2022-03-25", "to": "2022-04-19"})

    terminal = capfd.readouterr()
    warehouse_rows = database_dump(postgres_url)
    # The run really used what it is scanned for: ads pushed and applied, figures pulled, a report.
    applied = [row for row in warehouse_rows.splitlines() if row.startswith("apply_log:")]
    assert applied and "fact_daily_performance:" in warehouse_rows, warehouse_rows[-3000:]
    reports = files_under(data_dir)
    assert any(name.endswith(".pdf") for name in reports) and any(name.endswith(".csv") for name in reports)
    places = {
        "terminal": terminal.out + terminal.err,
        "log records": "\n".join(every_log_record),
        "warehouse (every table, the apply log among them)": warehouse_rows,
        "Airflow metadata (XCom, task instances, HITL, runs)": database_dump(
            f"sqlite:///{airflow_db / 'airflow.db'}"
        ),
        **{f"task log {name}": text for name, text in files_under(airflow_db / "logs").items()},
        **{f"report/export {name}": text for name, text in reports.items()},
        **{f"temporary file {name}": text for name, text in files_under(private_tmp).items()},
    }
    assert leaks(places, secrets) == []
