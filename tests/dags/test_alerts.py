"""A task that fails for good posts an alert to the webhook of the `safepassage_alerts` Connection,
through the callback every DAG gets from DEFAULT_ARGS, and the alert carries no secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from safepassage.orchestration.alerts import ALERTS_CONN_ID

SECRET = "EAAB-not-a-real-token-but-a-secret-all-the-same"


class Webhook:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ops"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    hook = Webhook()
    connection = {"conn_type": "generic", "extra": {"webhook_url": hook.url}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{ALERTS_CONN_ID.upper()}", json.dumps(connection))
    yield hook
    hook.server.shutdown()


DRILL_DAG = f"""
import pendulum
from airflow.sdk import dag, task

from safepassage.orchestration.defaults import DEFAULT_ARGS


@dag(
    dag_id="alert_drill",
    schedule=None,
    start_date=pendulum.datetime(2022, 3, 25, tz="UTC"),
    default_args={{**DEFAULT_ARGS, "retries": 0}},
)
def alert_drill():
    @task
    def push():
        raise RuntimeError("GET https://graph.facebook.com/v26.0/act_1?access_token={SECRET} failed")

    push()


alert_drill()
"""


@pytest.fixture
def drill_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """dag.test() syncs the DAG's bundle: the drill gets a bundle of its own. The bundle names its
    path, since the default bundle reads `settings.DAGS_FOLDER` once per process (an earlier test
    that imported airflow.settings would otherwise point it at the project's dags/)."""
    bundle = {"name": "alert-drill", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle"}
    bundle["kwargs"] = {"path": str(tmp_path), "refresh_interval": 0}  # type: ignore[assignment]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path))
    return tmp_path


def failing_dag(folder: Path):  # type: ignore[no-untyped-def]
    """A DAG file with the shared DEFAULT_ARGS (no retries) whose one task fails with a secret in its
    message, loaded the way Airflow loads the real ones."""
    from airflow.dag_processing.dagbag import DagBag

    (folder / "alert_drill.py").write_text(DRILL_DAG, encoding="utf-8")
    bag = DagBag(dag_folder=str(folder))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["alert_drill"]


@pytest.mark.slow
def test_a_failed_task_posts_an_alert_without_secrets(
    airflow_db: Path, webhook: Webhook, drill_folder: Path
) -> None:
    run = failing_dag(drill_folder).test()

    assert str(run.state) == "failed"
    (body,) = webhook.bodies
    alert = json.loads(body)
    assert (alert["dag_id"], alert["task_id"], alert["run_id"]) == ("alert_drill", "push", run.run_id)
    assert alert["error_type"] == "RuntimeError" and alert["event"] == "task_failed"
    assert "alert_drill.push failed" in alert["text"]
    assert SECRET not in body.decode() and "access_token" not in body.decode()


def test_no_connection_sends_nothing_and_the_failure_stands(airflow_db: Path, drill_folder: Path) -> None:
    run = failing_dag(drill_folder).test()
    assert str(run.state) == "failed"
