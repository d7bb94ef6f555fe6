"""The impact page of the Airflow UI plugin, on the hand-built warehouse, filtered by period and slice.

Its login and permission (read access to impact_report) come with every page (test_ui_plugin.py,
tests/e2e/test_ui_auth.py); here the route function is called with a plain request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from starlette.requests import Request

from safepassage.adapters.warehouse import Warehouse
from safepassage.orchestration.ui import impact_view
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.outcomes import load_outcomes
from safepassage.services.reference_data import sync_reference_data
from tests.impact_warehouse import build


class Page:
    def __init__(self, text: str):
        self.text, self.status_code = text, 200


class Client:
    """Calls the route function the way FastAPI does, with the query string in the request."""

    def get(self, path: str, params: dict[str, str] | None = None) -> Page:
        assert path == "/impact"
        query = urlencode(params or {}).encode()
        return Page(impact_view(Request({"type": "http", "query_string": query, "headers": []})))


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)
    store = Warehouse(url)
    store.migrate()
    sync_reference_data(load_campaign_config(), store)
    load_outcomes(store, load_campaign_config(), [build(store, tmp_path / "outcomes")])
    store.dispose()
    yield Client()


def test_default_view_is_the_widest_reach_window(client: Client) -> None:
    page = client.get("/impact")
    assert page.status_code == 200
    assert 'value="2022-04-01"' in page.text and 'value="2022-05-31"' in page.text
    assert "2,500 – 4,000" in page.text  # people reached, as a range across the platforms
    assert '<form class="filters"' in page.text and "<svg" in page.text


def test_filtered_by_country_and_platform(client: Client) -> None:
    page = client.get("/impact", params={"from": "2022-04-01", "to": "2022-05-31", "country": "PL"})
    assert "2,500 – 3,500" in page.text  # Google PL 1000, Meta PL 2500
    assert "countries: PL" in page.text
    meta = client.get("/impact", params={"from": "2022-04-01", "to": "2022-05-31", "platform": "meta"})
    assert "2,500</div>" in meta.text  # one platform: its own figure, exactly
    assert ">2,800<" in meta.text  # Meta's impressions: 2000 + 800 (in the per-country table)


def test_bad_input_is_explained(client: Client) -> None:
    page = client.get("/impact", params={"from": "last tuesday", "to": "2022-05-31"})
    assert page.status_code == 200 and "dates are YYYY-MM-DD" in page.text
    reversed_period = client.get("/impact", params={"from": "2022-06-01", "to": "2022-05-31"})
    assert "ends (2022-05-31) before it starts" in reversed_period.text
