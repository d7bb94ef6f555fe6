"""Pull windows, link attribution and shrunk cost per signposting click (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from safepassage.domain.performance import Window, attribute_link, pull_window, shrunk_cost_per_click

ORGS = {
    "la-strada-poland": "https://strada.org.pl/",
    "stop-the-traffik": "https://www.stopthetraffik.org/stop-app/",
    "unhcr-help-ukraine": "https://help.unhcr.org/ukraine/",
}


def test_a_daily_run_rereads_its_lookback_and_a_backfill_its_whole_range() -> None:
    assert pull_window(dt.date(2022, 5, 10), 14) == Window(dt.date(2022, 4, 27), dt.date(2022, 5, 10))
    backfill = pull_window(dt.date(2022, 11, 1), 28, since=dt.date(2022, 3, 25), until=dt.date(2022, 10, 31))
    assert backfill == Window(dt.date(2022, 3, 25), dt.date(2022, 10, 31)) and backfill.days == 221
    assert pull_window(dt.date(2022, 5, 10), 3, today=dt.date(2022, 5, 9)).end == dt.date(2022, 5, 9)
    with pytest.raises(ValueError, match="before its start"):
        Window(dt.date(2022, 5, 2), dt.date(2022, 5, 1))


def test_links_are_attributed_from_the_tracked_link_alone() -> None:
    tracked = "https://strada.org.pl/?utm_campaign=x_jobs&sp_org=la-strada-poland&sp_lang=uk"
    assert attribute_link(tracked, ORGS).destination == "organisation"
    assert attribute_link(tracked, ORGS).organisation_id == "la-strada-poland"
    assert attribute_link(tracked, ORGS).language == "uk"
    assert attribute_link("https://help.unhcr.org/ukraine/en/", ORGS).organisation_id == "unhcr-help-ukraine"
    assert attribute_link("https://help.unhcr.org/poland/", ORGS).destination == "other"
    app = attribute_link("https://www.stopthetraffik.org/stop-app/?sp_org=stop-the-traffik", ORGS)
    assert (app.destination, app.organisation_id) == ("app", "stop-the-traffik")
    assert attribute_link("https://play.google.com/store/apps/details?id=x", ORGS).destination == "app"


def test_cost_per_click_is_shrunk_toward_the_pool_for_small_counts() -> None:
    observed = {"PL": (100_000, 100), "RO": (3_000, 1), "DE": (50_000, 0), "HU": (0, 0)}
    shrunk = shrunk_cost_per_click(observed, prior_strength_clicks=20, min_total_clicks=30)
    pooled = 153_000 / 101
    assert abs(shrunk["PL"].shrunk_minor - 1000) < abs(1000 - pooled) / 4  # many clicks: near its own 1,000
    assert abs(shrunk["RO"].shrunk_minor - pooled) < abs(3_000 - pooled) / 10  # one click: near the pool
    assert shrunk["DE"].shrunk_minor > pooled  # spent without a click: dearer than the pool, not infinite
    assert "HU" not in shrunk  # nothing spent: no evidence
    assert shrunk_cost_per_click(observed, prior_strength_clicks=20, min_total_clicks=500) == {}
