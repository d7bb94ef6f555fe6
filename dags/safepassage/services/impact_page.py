"""The impact page inside Airflow (Browse → Impact): the report's figures for any period and slice,
chosen in a form. Read-only; computed by the same code as the report, so the two always agree."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.impact import Period, Slice
from safepassage.services.impact import compute_impact, load_reporting_settings
from safepassage.services.impact_report import CSS, render_html
from safepassage.services.ports import Warehouse

SLICE_FIELDS = {
    "country": "countries",
    "language": "languages",
    "platform": "platforms",
    "placement": "placements",
    "theme": "themes",
    "organisation": "organisations",
    "device": "devices",
}
PAGE_CSS = ".filters{background:#f4f6f8;padding:8px 10px;border-radius:6px;margin:10px 0}" + (
    ".filters label{margin-right:10px;font-size:13px}.filters input,.filters select{font-size:13px}"
    ".error{color:#cf222e;font-weight:bold}"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def default_period(warehouse: Warehouse) -> Period | None:
    """The widest window a platform reported reach for (so people reached shows), else the days
    with delivery, else nothing."""
    windows = warehouse.impact.reach_windows()
    if windows:
        start, end = max(windows, key=lambda window: (window[1] - window[0], window[1]))
        return Period(start, end)
    first = warehouse.impact.first_performance_date()
    return Period(first, dt.date.today()) if first else None


def _select(name: str, label: str, options: list[tuple[str, str]], chosen: str) -> str:
    items = "".join(
        f'<option value="{_e(value)}"{" selected" if value == chosen else ""}>{_e(text)}</option>'
        for value, text in options
    )
    return f'<label>{_e(label)} <select name="{name}"><option value="">all</option>{items}</select></label>'


def filter_form(
    config: CampaignConfig, period: Period, params: Mapping[str, str], windows: list[tuple[dt.date, dt.date]]
) -> str:
    def text(name: str, label: str, hint: str) -> str:
        value = params.get(name, "")
        field = f'<input name="{name}" value="{_e(value)}" placeholder="{_e(hint)}" size="12">'
        return f"<label>{label} {field}</label>"

    fields = [
        f'<label>from <input type="date" name="from" value="{period.start.isoformat()}"></label>',
        f'<label>to <input type="date" name="to" value="{period.end.isoformat()}"></label>',
        _select(
            "country", "country", [(c.code, c.name) for c in config.countries], params.get("country", "")
        ),
        _select(
            "language",
            "language",
            [(lang.code, lang.name) for lang in config.languages],
            params.get("language", ""),
        ),
        _select(
            "platform",
            "platform",
            [("google_ads", "Google Ads"), ("meta", "Meta")],
            params.get("platform", ""),
        ),
        _select(
            "device", "device", [(d, d) for d in ("mobile", "tablet", "desktop")], params.get("device", "")
        ),
        text("placement", "placement", "e.g. search, instagram"),
        text("theme", "theme", "e.g. job_offers"),
        _select(
            "organisation",
            "organisation",
            [(org.id, org.name) for org in config.organisations],
            params.get("organisation", ""),
        ),
        '<button type="submit">show</button>',
    ]
    shortcuts = " · ".join(
        f'<a href="?from={start.isoformat()}&amp;to={end.isoformat()}">{start} – {end}</a>'
        for start, end in windows[:6]
    )
    reach_hint = (
        f'<div class="note">Periods with platform-reported reach: {shortcuts}</div>' if shortcuts else ""
    )
    return f'<form class="filters" method="get">{"".join(fields)}{reach_hint}</form>'


def impact_page(params: Mapping[str, str], warehouse: Warehouse) -> str:
    """The page for these query parameters (from, to, and any slice); bad input is shown, not raised."""
    from safepassage.services.campaign_config import load_campaign_config

    config = load_campaign_config()
    try:
        period = _period(params, warehouse)
        part = Slice.of(**{field: params.get(name) for name, field in SLICE_FIELDS.items()})
    except ValueError as error:
        return _message(f"Cannot show this: {error}", error=True)
    if period is None:
        return _message("No performance data yet: the pull_performance DAG fills the warehouse.")
    reporting = load_reporting_settings()
    figures = compute_impact(warehouse, period, part, simulated=reporting.platform_figures_simulated)
    controls = filter_form(config, period, params, warehouse.impact.reach_windows())
    page = render_html(figures, config, reporting.top_organisations, "Impact", controls)
    return page.replace("</style>", f"{PAGE_CSS}</style>", 1)


def _period(params: Mapping[str, Any], warehouse: Warehouse) -> Period | None:
    start, end = params.get("from"), params.get("to")
    if not start and not end:
        return default_period(warehouse)
    try:
        first = dt.date.fromisoformat(start) if start else None
        last = dt.date.fromisoformat(end) if end else None
    except ValueError:
        raise ValueError(f"dates are YYYY-MM-DD (got from={start!r}, to={end!r})") from None
    fallback = default_period(warehouse)
    return Period(first or (fallback.start if fallback else last or dt.date.today()), last or dt.date.today())


def _message(text: str, error: bool = False) -> str:
    css_class = "error" if error else "note"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Impact</title>'
        f"<style>{CSS}{PAGE_CSS}</style></head><body><h1>Impact</h1>"
        f'<p class="{css_class}">{_e(text)}</p><p><a href="?">back to the default view</a></p></body></html>'
    )
