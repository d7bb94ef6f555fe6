"""The Airflow UI plugin: Airflow loads it from plugins/, and its pages show real content.

The pages need Airflow's login; that is proven against a real API server in
tests/e2e/test_ui_auth.py. Here the page functions are called directly.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from safepassage.orchestration.ui import (
    PAGES,
    create_app,
    creatives_page,
    plans_page,
    targeting_page,
    warehouse,
)

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


def test_every_route_carries_airflow_security_and_docs_are_not_open() -> None:
    app = create_app()
    assert app.docs_url is None and app.redoc_url is None and app.openapi_url is None
    routes = {route.path: route for route in app.routes if hasattr(route, "dependant")}
    assert set(routes) == {page.path for page in PAGES} | {"/docs", "/openapi.json"}
    for path, route in routes.items():
        dependencies = {d.call.__qualname__ for d in route.dependant.dependencies}  # type: ignore[attr-defined]
        wanted = "requires_access_view" if path in ("/docs", "/openapi.json") else "requires_access_dag"
        assert f"{wanted}.<locals>.inner" in dependencies, (path, dependencies)


def test_creative_gallery_shows_stored_versions_not_a_fresh_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.creatives import check_and_store
    from tests.creatives_helpers import copy_library, edit_template

    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    Warehouse().migrate()
    assert "No checked creatives stored yet" in creatives_page()
    check_and_store(warehouse())
    root = copy_library(tmp_path, monkeypatch)  # a later, broken edit is not what the page shows
    edit_template(root, "job_offers/google_rsa.j2", "headline: {{", "headline: {{ nonsense }}{{")
    page = creatives_page()
    assert "SafePassage creatives" in page
    assert 'data-platform="google_ads"' in page and 'data-platform="meta"' in page
    assert "Робота" in page or "Работа" in page  # Cyrillic ads
    assert "Praca" in page  # Polish ads
    assert "nonsense" not in page and "0 error(s)" in page


def test_pages_share_one_engine_per_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    assert warehouse() is warehouse() and warehouse().engine is warehouse().engine


def test_targeting_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safepassage import settings
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.intelligence import check_files, publish, refresh_targeting

    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    store = Warehouse()
    store.migrate()
    assert "No targeting yet" in targeting_page()

    config = load_campaign_config()
    publish(check_files([settings.intelligence_dir()], config), store)
    refresh_targeting(config, store, dt.date(2022, 3, 28))
    page = targeting_page()
    assert "kj-2022-03-25-border-crossings" in page
    assert page.count("<tr>") == 1 + len(config.countries)
    assert "Medyka" in page


def test_plans_page_lists_plans_with_reasons_and_decisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.reference_data import sync_reference_data

    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    store = Warehouse()
    store.migrate()
    sync_reference_data(load_campaign_config(), store)
    assert "No plans yet" in plans_page()

    store.push.insert_plan(
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
    store.push.decide_plans("manual__1", True, "reviewer-anna", "helplines checked")
    page = plans_page()
    assert "716 create" in page and "PL starts serving" in page
    assert "approved" in page and "reviewer-anna: helplines checked" in page
    assert "Plan 1 in full" in page
