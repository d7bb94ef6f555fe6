"""`safepassage intel check|publish|schema` end to end (SQLite warehouse, the local Redis)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
import redis

from safepassage import cli, settings
from safepassage.adapters.warehouse import Warehouse
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.intelligence import check_files, publish, refresh_targeting, stored_judgements
from tests.judgement_samples import line_of, write_judgement


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    channel = f"safepassage.test.{uuid.uuid4().hex}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    monkeypatch.setenv("SAFEPASSAGE_JUDGEMENT_CHANNEL", channel)
    return channel


@pytest.fixture
def subscriber(isolated):
    client = redis.Redis.from_url(settings.redis_url())
    pubsub = client.pubsub()
    pubsub.subscribe(isolated)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    yield pubsub
    pubsub.close()
    client.close()


def next_message(pubsub, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            return message
    return None


def test_check_the_shipped_series(capsys):
    assert cli.main(["intel", "check"]) == 0
    assert "8 key judgement(s) valid" in capsys.readouterr().out


def test_check_reports_file_line_and_field(tmp_path, capsys):
    path = write_judgement(tmp_path, replace=(("radius_km: 10", "radius_km: 200"),))
    assert cli.main(["intel", "check", str(path)]) == 2
    assert (
        f"{path}:{line_of(path, 'radius_km')}: countries.PL.hotspots[0].radius_km:" in capsys.readouterr().err
    )


def test_publish_stores_then_sends_a_redis_event(tmp_path, subscriber, capsys):
    path = write_judgement(tmp_path)
    assert cli.main(["intel", "publish", str(path)]) == 0
    message = next_message(subscriber)
    assert message is not None
    assert json.loads(message["data"])["judgement_ids"] == ["kj-2022-03-25-test"]
    assert [j.id for j in stored_judgements(Warehouse())] == ["kj-2022-03-25-test"]
    assert "1 listener(s)" in capsys.readouterr().out


def test_a_broken_judgement_is_neither_stored_nor_announced(tmp_path, subscriber, capsys):
    good = write_judgement(tmp_path, "good.yaml")
    assert cli.main(["intel", "publish", str(good)]) == 0
    assert next_message(subscriber) is not None
    overlapping = write_judgement(
        tmp_path, "overlap.yaml", start=dt.date(2022, 4, 1), end=dt.date(2022, 5, 1)
    )
    assert cli.main(["intel", "publish", str(overlapping)]) == 2
    err = capsys.readouterr().err
    assert (
        f"{overlapping}:{line_of(overlapping, 'valid_from')}: valid_from:" in err
        and "Nothing was published" in err
    )
    assert next_message(subscriber, timeout=1.0) is None
    assert [j.id for j in stored_judgements(Warehouse())] == ["kj-2022-03-25-test"]


def test_rest_publish_without_credentials_is_refused_before_storing(tmp_path, isolated, monkeypatch, capsys):
    for name in ("SAFEPASSAGE_AIRFLOW_TOKEN", "SAFEPASSAGE_AIRFLOW_USERNAME", "SAFEPASSAGE_AIRFLOW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["intel", "publish", "--via", "rest", str(write_judgement(tmp_path))]) == 2
    assert "SAFEPASSAGE_AIRFLOW_TOKEN" in capsys.readouterr().err
    assert stored_judgements(Warehouse()) == []


def test_show_previews_a_file_with_refusals_and_guard_decisions(capsys):
    path = settings.PROJECT_ROOT / "intelligence" / "2022-05-20-job-offers.yaml"
    assert cli.main(["intel", "show", str(path), "--as-of", "2025-11-01"]) == 0
    out = capsys.readouterr().out
    assert "Preview (nothing stored)" in out
    assert any(
        line.startswith("PL ") and line.rstrip().endswith("targeted    refused") for line in out.splitlines()
    )
    assert "in force from 2025-10-06" in out
    assert "'women travelling alone with children' (minors)" in out


def test_show_latest_snapshot(isolated, capsys):
    assert cli.main(["intel", "show"]) == 2
    assert "no targeting snapshot stored yet" in capsys.readouterr().err
    warehouse = Warehouse()
    config = load_campaign_config()
    publish(check_files([settings.PROJECT_ROOT / "intelligence"], config), warehouse)
    refresh_targeting(config, warehouse, dt.date(2022, 3, 28))
    assert cli.main(["intel", "show"]) == 0
    assert "Targeting as of 2022-03-28 from kj-2022-03-25-border-crossings" in capsys.readouterr().out
