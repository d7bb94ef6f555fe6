"""The Airflow UI plugin: Airflow loads it from plugins/, and its pages show real content."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from safepassage.orchestration.ui import create_app

PLUGIN_PROBE = """
import json
from airflow import plugins_manager
apps, _ = plugins_manager.get_fastapi_plugins()
views, _ = plugins_manager._get_ui_plugins()
print(json.dumps({
    "errors": plugins_manager.get_import_errors(),
    "apps": [app["url_prefix"] for app in apps],
    "views": [view["href"] for view in views],
}))
"""


def test_airflow_loads_the_plugin_from_the_plugins_folder() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PLUGIN_PROBE],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    assert "/safepassage" in loaded["apps"]
    assert {
        "safepassage/creatives",
        "safepassage/targeting",
        "safepassage/plans",
        "safepassage/impact",
    } <= set(loaded["views"])


def test_creative_gallery_page_shows_rendered_ads_in_both_scripts() -> None:
    response = TestClient(create_app()).get("/creatives")
    assert response.status_code == 200
    assert "SafePassage creatives" in response.text
    assert 'data-platform="google_ads"' in response.text and 'data-platform="meta"' in response.text
    assert "Робота" in response.text or "Работа" in response.text  # Cyrillic ads
    assert "Praca" in response.text  # Polish ads


def test_targeting_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safepassage import settings
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.intelligence import check_files, publish, refresh_targeting

    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    warehouse = Warehouse()
    warehouse.migrate()
    client = TestClient(create_app())
    assert "No targeting yet" in client.get("/targeting").text

    config = load_campaign_config()
    publish(check_files([settings.intelligence_dir()], config), warehouse)
    refresh_targeting(config, warehouse, dt.date(2022, 3, 28))
    page = client.get("/targeting").text
    assert "kj-2022-03-25-border-crossings" in page
    assert page.count("<tr>") == 1 + len(config.countries)
    assert "Medyka" in page


def test_plans_page_lists_plans_with_reasons_and_decisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.adapters.warehouse.push_store import decide_plans, insert_plan
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.reference_data import sync_reference_data

    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    warehouse = Warehouse()
    warehouse.migrate()
    sync_reference_data(load_campaign_config(), warehouse)
    client = TestClient(create_app())
    assert "No plans yet" in client.get("/plans").text

    insert_plan(
        warehouse,
        {
            "platform_code": "google_ads",
            "account_external_id": "5550001001",
            "status": "needs_approval",
            "summary": {"counts": {"create": 716}, "markdown": "| SP\\|PL\\|uk | create |"},
            "operations": [{}] * 716,
            "approval_reasons": [{"rule": "new_country", "country": "PL", "message": "PL starts serving"}],
            "dag_run_id": "manual__1",
        },
    )
    decide_plans(warehouse, "manual__1", True, "reviewer-anna", "helplines checked")
    page = client.get("/plans").text
    assert "716 create" in page and "PL starts serving" in page
    assert "approved" in page and "reviewer-anna: helplines checked" in page
    assert "Plan 1 in full" in page
