"""Read-only pages inside the Airflow UI for campaign managers and ops staff: the creative
gallery, the current targeting, the push plans with their approvals, and the impact figures.

Served by the plugin in `plugins/safepassage_views.py` under `/safepassage/` and listed in the UI's
*Browse* menu. A FastAPI app mounted by a plugin gets no authentication from Airflow, so every route
here carries Airflow's own security dependencies: the UI's `_token` cookie or a Bearer token, and
read access to the DAG whose output the page shows (401 without a login, 403 without the right).
`/docs` and `/openapi.json` need the same login; ReDoc is off.

Adding a page: one `Page(...)` entry in `PAGES` (route, permission and menu entry follow).
The pages read what the DAGs stored in the warehouse (one engine per process); nothing is
re-rendered per request.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import requires_access_dag, requires_access_view
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

if TYPE_CHECKING:
    from safepassage.services.ports import Warehouse

URL_PREFIX = "/safepassage"

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


def warehouse() -> Warehouse:
    """The process's warehouse (one engine and pool per URL, shared by every request)."""
    from safepassage.orchestration.connections import shared_warehouse

    return shared_warehouse()


def creatives_page() -> str:
    from safepassage.services.creative_gallery import stored_gallery_html

    html_page = stored_gallery_html(warehouse())
    if html_page is None:
        return page(
            "Creative gallery",
            '<p class="note">No checked creatives stored yet: run the render_creatives DAG '
            "(or preview drafts with <code>safepassage creatives preview</code>).</p>",
        )
    return html_page


def targeting_page() -> str:
    from safepassage.services.intelligence import latest_targeting

    document = latest_targeting(warehouse())
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
    from safepassage.services.push import recent_plans

    plans = recent_plans(warehouse(), limit=20)
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


def impact_view(request: Request) -> str:
    from safepassage.services.impact_page import impact_page

    return impact_page(dict(request.query_params), warehouse())


@dataclass(frozen=True)
class Page:
    """One SafePassage page: its route under URL_PREFIX, menu title, and the DAG it needs read access to."""

    path: str
    title: str
    render: Callable[..., str]  # FastAPI fills its parameters (e.g. the Request)
    dag_id: str
    summary: str

    @property
    def route_name(self) -> str:
        return f"safepassage-{self.path.strip('/')}"


PAGES: list[Page] = [
    Page(
        "/creatives",
        "Creative gallery",
        creatives_page,
        "render_creatives",
        "every stored ad as phones show it",
    ),
    Page("/targeting", "Targeting", targeting_page, "refresh_targeting", "the newest targeting snapshot"),
    Page("/plans", "Push plans", plans_page, "push_campaigns", "push plans, their approvals and outcomes"),
    Page("/impact", "Impact", impact_view, "impact_report", "impact figures for any period and slice"),
]

# The same login Airflow's own API docs need.
DOCS_ACCESS = [Depends(requires_access_view(AccessView.DOCS))]


def add_page(app: FastAPI, page_spec: Page) -> None:
    """Serve `page_spec` to users who may read its DAG (Airflow's login and permissions)."""
    app.add_api_route(
        page_spec.path,
        page_spec.render,
        methods=["GET"],
        response_class=HTMLResponse,
        summary=page_spec.summary,
        name=page_spec.route_name,
        dependencies=[Depends(requires_access_dag("GET", param_dag_id=page_spec.dag_id))],
    )


def create_app(pages: list[Page] | None = None) -> FastAPI:
    app = FastAPI(
        title="SafePassage",
        description="Campaign views for SafePassage (read-only).",
        docs_url=None,  # served below, behind the login
        redoc_url=None,
        openapi_url=None,
    )
    for page_spec in PAGES if pages is None else pages:
        add_page(app, page_spec)

    @app.get("/openapi.json", include_in_schema=False, dependencies=DOCS_ACCESS)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.get("/docs", include_in_schema=False, dependencies=DOCS_ACCESS)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(openapi_url=f"{root}/openapi.json", title="SafePassage views")

    return app


def nav_entries(pages: list[Page] | None = None) -> list[dict[str, str]]:
    """The plugin's `external_views`: each page in the UI's Browse menu, shown inside Airflow."""
    return [
        {
            "name": page_spec.title,
            "href": f"{URL_PREFIX.lstrip('/')}{page_spec.path}",
            "destination": "nav",
            "category": "browse",
            "url_route": page_spec.route_name,
        }
        for page_spec in (PAGES if pages is None else pages)
    ]
