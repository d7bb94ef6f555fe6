"""The SafePassage pages, and their /docs and /openapi.json, against a real Airflow API server
with the simple auth manager and a real login: 401 without one, 403 with a forged token, 200 with a
user's token (Bearer, or the UI's `_token` cookie). One API server serves every check."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.routing import APIRoute

from safepassage import settings
from safepassage.orchestration import ui
from tests.e2e.airflow_cluster import AirflowCluster

# Derived from the app, so a page or data endpoint added later is checked without editing this list.
PAGES = [f"{ui.URL_PREFIX}{page.path}" for page in ui.PAGES]
DOCS = ["/safepassage/docs", "/safepassage/openapi.json"]
SERVED = [f"{ui.URL_PREFIX}{route.path}" for route in ui.create_app().routes if isinstance(route, APIRoute)]
# The same routes reached another way: a query (the impact page's period), a trailing slash.
VARIANTS = [f"{path}?from=2022-01-01&to=2022-12-31" for path in PAGES] + [f"{path}/" for path in PAGES]
USER, PASSWORD = "reviewer", uuid.uuid4().hex


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowCluster]:
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.creatives import check_and_store

    home = tmp_path_factory.mktemp("airflow-ui")
    warehouse_url = f"sqlite:///{home / 'warehouse.sqlite'}"
    warehouse = Warehouse(warehouse_url)
    warehouse.migrate()
    check_and_store(warehouse)  # the gallery shows what the DAG stored
    warehouse.dispose()
    (home / "plugins").mkdir()
    shutil.copy(settings.PROJECT_ROOT / "plugins" / "safepassage_views.py", home / "plugins")
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}), encoding="utf-8")
    cluster = AirflowCluster(
        home,
        dag_files=[],
        extra_env={
            "SAFEPASSAGE_WAREHOUSE_URL": warehouse_url,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        },
    )
    try:
        cluster.start(components=("api-server",))
        yield cluster
    finally:
        cluster.stop()


def _login(cluster: AirflowCluster) -> str:
    response = httpx.post(
        f"{cluster.api_url}/auth/token", json={"username": USER, "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def test_pages_and_docs_need_the_airflow_login(api_server: AirflowCluster) -> None:
    base = api_server.api_url
    token = _login(api_server)
    forged = token[:-8] + ("A" * 8 if not token.endswith("A" * 8) else "B" * 8)
    assert sorted(SERVED) == sorted(PAGES + DOCS)  # every route the app serves is checked below
    with httpx.Client(base_url=base, timeout=60) as client:
        for path in VARIANTS:
            anonymous = client.get(path, follow_redirects=True)
            assert anonymous.status_code == 401, (path, anonymous.status_code, anonymous.text[:200])
        for path in SERVED:
            anonymous = client.get(path)
            assert anonymous.status_code == 401, (path, anonymous.status_code, anonymous.text[:200])
            bad = client.get(path, headers={"Authorization": f"Bearer {forged}"})
            assert bad.status_code == 403, (path, bad.status_code)
            bearer = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert bearer.status_code == 200, (path, bearer.status_code, bearer.text[:300])
            cookie = httpx.get(f"{base}{path}", cookies={"_token": token}, timeout=60)
            assert cookie.status_code == 200, (path, cookie.status_code)
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/safepassage/redoc", headers=headers).status_code == 404  # switched off
        gallery = client.get("/safepassage/creatives", headers=headers).text
        assert 'data-platform="google_ads"' in gallery and 'data-platform="meta"' in gallery
        assert "Praca" in gallery  # Polish ads, from the stored versions
        schema = client.get("/safepassage/openapi.json", headers=headers).json()
        assert set(schema["paths"]) == {"/creatives", "/targeting", "/plans", "/impact"}
        assert "/safepassage/openapi.json" in client.get("/safepassage/docs", headers=headers).text

        plugins = client.get("/api/v2/plugins", headers=headers).json()["plugins"]
        ours = next(plugin for plugin in plugins if plugin["name"] == "safepassage")
        assert {view["href"] for view in ours["external_views"]} == {p.lstrip("/") for p in PAGES}
        assert {view["destination"] for view in ours["external_views"]} == {"nav"}
    api_server.assert_running()
    api_server.assert_listens_on_loopback_only()
