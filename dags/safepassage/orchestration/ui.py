"""Read-only pages inside the Airflow UI for campaign managers and ops staff: the creative
gallery, the current targeting, the push plans with their approvals, and the impact figures.

Served by the plugin in `plugins/safepassage_views.py` under `/safepassage/`; every page is
computed from the same services the DAGs use, so it shows what the next run would see. The pages
hold no personal data; like any FastAPI plugin app they are not behind Airflow's login, so expose
the API server only where the campaign's internal plans may be read.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

PAGE_CSS = (
    "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f24}"
    "pre{background:#f4f6f8;padding:1rem;overflow:auto;font-size:13px}"
    "table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}"
    "th{background:#f4f6f8}.note{color:#57606a}"
)


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{PAGE_CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def creatives_page() -> str:
    from safepassage.services.creative_gallery import gallery_html
    from safepassage.services.creatives import load_library, render_library

    library = load_library()
    return gallery_html(library, render_library(library))


def targeting_page() -> str:
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.intelligence import latest_targeting

    document = latest_targeting(Warehouse())
    if document is None:
        return page("Targeting", '<p class="note">No targeting yet: run the refresh_targeting DAG.</p>')
    rows = "".join(
        _targeting_row(c) for c in sorted(document.get("countries", []), key=lambda c: -float(c["weight"]))
    )
    source = document.get("judgement_id") or "baseline (no judgement in force)"
    body = (
        f"<p>As of {html.escape(str(document.get('as_of')))}, from key judgement "
        f"<b>{html.escape(source)}</b>.</p><table><tr><th>country</th><th>name</th><th>weight</th>"
        "<th>risk</th><th>languages</th><th>places</th><th>Google Ads</th><th>Meta</th></tr>"
        f"{rows}</table>"
    )
    return page("Targeting", body)


def _targeting_row(country: dict[str, Any]) -> str:
    places = ", ".join(h["name"] for h in country.get("hotspots", [])) or "whole country"
    cells = [
        country["code"],
        country.get("name", ""),
        f"{float(country['weight']):.1%}",
        str(country.get("risk_level") or "—"),
        ", ".join(country.get("language_codes", [])),
        places,
    ]
    for platform in country.get("platforms", []):
        reasons = "; ".join(r["reason"] for r in platform.get("refusals", []))
        cells.append(f"{platform['status']}: {reasons}" if reasons else platform["status"])
    return "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"


def plans_page() -> str:
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.push import recent_plans

    plans = recent_plans(Warehouse(), limit=20)
    if not plans:
        return page("Push plans", '<p class="note">No plans yet: the push_campaigns DAG makes them.</p>')
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(cell))}</td>"
            for cell in (
                plan["id"],
                plan["created_at"],
                f"{plan['platform']} {plan['account']}",
                ", ".join(f"{n} {action}" for action, n in sorted(plan["counts"].items())) or "no changes",
                plan["status"],
                "; ".join(plan["approval_reasons"]) or "within thresholds",
                f"{plan['decided_by']}: {plan['decision_note']}" if plan["decided_by"] else "—",
            )
        )
        + "</tr>"
        for plan in plans
    )
    newest = plans[0]
    body = (
        '<p class="note">Newest 20 plans. Plans that need a person wait under <b>Required actions</b> '
        "(task <code>review_plans</code> of <code>push_campaigns</code>).</p>"
        "<table><tr><th>plan</th><th>made</th><th>account</th><th>operations</th><th>status</th>"
        f"<th>why review</th><th>decision</th></tr>{rows}</table>"
        f"<h2>Plan {newest['id']} in full</h2><pre>{html.escape(newest['markdown'])}</pre>"
    )
    return page("Push plans", body)


def create_app() -> FastAPI:
    app = FastAPI(title="SafePassage", description="Campaign views for SafePassage (read-only).")

    @app.get("/creatives", response_class=HTMLResponse, summary="every ad as the platforms lay it out")
    def creatives() -> str:
        return creatives_page()

    @app.get("/targeting", response_class=HTMLResponse, summary="the newest targeting snapshot")
    def targeting() -> str:
        return targeting_page()

    @app.get("/plans", response_class=HTMLResponse, summary="push plans, their approvals and outcomes")
    def plans() -> str:
        return plans_page()

    @app.get("/impact", response_class=HTMLResponse, summary="impact figures for any period and slice")
    def impact(request: Request) -> str:
        from safepassage.services.impact_page import impact_page

        return impact_page(dict(request.query_params))

    return app
