"""The impact report: one self-contained HTML page and a PDF of the same content.

Charts are drawn with matplotlib and inlined as SVG; the PDF is WeasyPrint's rendering of the
same HTML, so the two never disagree. Platform figures carry a "simulated" label whenever
config/reporting.yaml says the warehouse is filled from the sandbox; people signposted to safety
is always labelled partner-reported (and illustrative where the partners' file says so).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.impact import HEADLINE_LABELS, Benchmark, Period, Traffic, money, percent, share
from safepassage.services.impact import ImpactFigures
from safepassage.services.ports import Warehouse

SIMULATED = (
    '<span class="tag sim" title="from the local ad-platform emulators, not real delivery">simulated</span>'
)

CSS = """
@page{size:A4;margin:14mm 12mm}
body{font-family:'DejaVu Sans',system-ui,sans-serif;color:#1b1f24;margin:24px auto;max-width:1100px;
font-size:14px;line-height:1.4}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #e2e6ea;
padding-bottom:4px;break-after:avoid}
.meta{color:#57606a}.banner{background:#fff4d6;border:1px solid #e3b341;padding:8px 12px;border-radius:6px;
margin:12px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #d0d7de;border-radius:8px;padding:10px 12px;width:170px;break-inside:avoid}
.card .v{font-size:22px;font-weight:bold}.card .l{color:#57606a;font-size:12px}
table{border-collapse:collapse;margin:6px 0;font-size:12.5px;break-inside:auto}
td,th{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f6f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
.tag{font-size:10px;border-radius:8px;padding:1px 6px;margin-left:4px;white-space:nowrap;font-weight:normal}
.sim{background:#fff4d6;border:1px solid #e3b341}.partner{background:#ddf4e4;border:1px solid #4ac26b}
.ill{background:#f1e5ff;border:1px solid #a371f7}
.chart svg{max-width:100%;height:auto}.grid{display:flex;flex-wrap:wrap;gap:16px}
.grid>div{flex:1 1 320px}.note{color:#57606a;font-size:12px}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


@dataclass(frozen=True)
class Names:
    """Display names from config/ (codes stay in the export; people read names)."""

    countries: Mapping[str, str]
    languages: Mapping[str, str]
    organisations: Mapping[str, str]

    @classmethod
    def of(cls, config: CampaignConfig) -> Names:
        return cls(
            {c.code: c.name for c in config.countries},
            {lang.code: lang.name for lang in config.languages},
            {org.id: org.name for org in config.organisations},
        )


# --- charts -------------------------------------------------------------------------------------


def _svg(figure: Any, prefix: str) -> str:
    """The figure as inline SVG. matplotlib numbers element ids per figure, so two charts on one
    page would share ids: each chart's ids (and references to them) get the chart's prefix."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: the SVG sits inside HTML
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    return re.sub(r'(url\(#|href="#)([^")]+)', rf"\1{prefix}-\2", text)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9})
    return plt


def _thousands() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _position: f"{value:,.0f}")


PLATFORM_NAMES = {"google_ads": "Google Ads", "meta": "Meta"}


def country_chart(figures: ImpactFigures, names: Names) -> str:
    plt = _pyplot()
    rows = sorted(figures.breakdowns["country"].items(), key=lambda item: item[1].impressions)
    if not rows:
        return '<p class="note">No delivery in this period.</p>'
    labels = [names.countries.get(code, code) for code, _ in rows]
    from matplotlib.ticker import MaxNLocator

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, max(2.2, 0.28 * len(rows) + 0.8)), sharey=True)
    left.barh(labels, [t.impressions for _, t in rows], color="#4c78a8")
    left.set_title("impressions")
    right.barh(labels, [t.signposting_clicks for _, t in rows], color="#f58518")
    right.set_title("signposting clicks")
    for axis in (left, right):
        axis.spines[["top", "right"]].set_visible(False)
        axis.xaxis.set_major_formatter(_thousands())
        axis.xaxis.set_major_locator(MaxNLocator(4))  # long numbers: few ticks, so they never overlap
    figure.tight_layout()
    return _svg(figure, "countries")


def monthly_chart(figures: ImpactFigures) -> str:
    plt = _pyplot()
    months = figures.period.months()
    if not months:
        return ""
    labels = [month.strftime("%b %Y") for month in months]
    traffic = [figures.by_month.get(month, Traffic()) for month in months]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4.2), sharex=True)
    top.plot(labels, [t.impressions for t in traffic], marker="o", color="#4c78a8")
    top.set_title("impressions per month")
    top.yaxis.set_major_formatter(_thousands())
    bottom.bar(labels, [t.signposting_clicks for t in traffic], color="#f58518")
    bottom.set_ylabel("signposting clicks", color="#c35a00")
    bottom.yaxis.set_major_formatter(_thousands())
    if figures.outcomes_apply:
        # counts in the tens beside clicks in the thousands: their own axis, on the right
        outcomes = bottom.twinx()
        outcomes.plot(
            labels, [figures.outcomes_by_month.get(month, 0) for month in months], marker="s", color="#2f7d32"
        )
        outcomes.set_ylabel("signposted to safety\n(partner-reported)", color="#2f7d32")
        outcomes.set_ylim(bottom=0)
        outcomes.spines[["top"]].set_visible(False)
    top.spines[["top", "right"]].set_visible(False)
    bottom.spines[["top"]].set_visible(False)
    figure.tight_layout()
    return _svg(figure, "months")


# --- page ---------------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{cell}</td>' if i >= numeric_from else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _breakdown(title: str, values: Mapping[str, Traffic], label: Mapping[str, str], sim: str) -> str:
    total_clicks = sum(t.clicks for t in values.values())
    rows = [
        (
            _e(label.get(key, key)),
            _n(t.impressions),
            _n(t.clicks),
            percent(share(t.clicks, total_clicks), 1),
            _n(t.signposting_clicks),
        )
        for key, t in sorted(values.items(), key=lambda item: -item[1].impressions)
    ]
    headers = [title, "impressions", "clicks", "share of clicks", "signposting clicks"]
    return f"<div><h3>By {_e(title)}{sim}</h3>{_table(headers, rows)}</div>"


def _outcome_tag(figures: ImpactFigures) -> str:
    tags = '<span class="tag partner">partner-reported</span>'
    if "illustrative" in figures.outcomes_basis:
        tags += (
            '<span class="tag ill" title="placeholder counts, not real partner reports">illustrative</span>'
        )
    return tags


def headline_cards(figures: ImpactFigures, sim: str) -> str:
    headline = figures.headline()
    cpc = figures.cost_per_signposting_click
    label = HEADLINE_LABELS  # the same words as the comparison table and the demo's summary
    cards = [
        (
            headline["people_reached"],
            f"{label['people_reached']}{sim}",
            "platform-reported unique reach for the period",
        ),
        (headline["countries"], f"{label['countries']}{sim}", "with at least one impression"),
        (headline["languages"], f"{label['languages']}{sim}", "with at least one impression"),
        (headline["organisations"], f"{label['organisations']}{sim}", "with at least one click"),
        (headline["mobile_share"], f"{label['mobile_share']}{sim}", "share of clicks"),
        (
            _n(headline["app_download_clicks"]),
            f"{label['app_download_clicks']}{sim}",
            "app stores and the app's page",
        ),
        (
            _n(headline["people_signposted_to_safety"]),
            f"{label['people_signposted_to_safety']}{_outcome_tag(figures)}",
            "counted by the partners, per organisation, country and month",
        ),
        (money(figures.traffic.cost_minor), f"spent{sim}", ""),
        (
            " + ".join(f"{amount} {currency}" for currency, amount in cpc.items()) or "—",
            f"per signposting click{sim}",
            "spend ÷ clicks on a support organisation's link",
        ),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="v">{_e(value)}</div><div class="l">{label}</div>'
            + (f'<div class="note">{_e(note)}</div>' if note else "")
            + "</div>"
            for value, label, note in cards
        )
        + "</div>"
    )


def _reach_section(figures: ImpactFigures, names: Names, sim: str) -> str:
    reach = figures.reach
    if reach.low is None:
        return f'<p class="note">People reached: not available — {_e(reach.note)}.</p>'
    per_platform = ", ".join(
        f"{_e(PLATFORM_NAMES.get(p, p))} {_e(r.text())}" for p, r in figures.reach_by_platform.items()
    )
    explanation = (
        "one platform-reported figure"
        if reach.exact
        else "at least the largest platform's figure (everyone else may have been reached there too), "
        "at most the sum (if nobody was reached on two platforms); the platforms cannot tell which"
    )
    return (
        f"<p><b>People reached: {_e(reach.text())}</b>{sim} — {explanation}. Per platform: {per_platform}. "
        "Unique reach for the whole period as each platform reports it, never a sum of daily reach.</p>"
    )


def _country_table(figures: ImpactFigures, names: Names, sim: str) -> str:
    rows = []
    for code, t in sorted(figures.breakdowns["country"].items(), key=lambda item: -item[1].impressions):
        reach = figures.reach_by_country.get(code)
        rows.append(
            (
                _e(names.countries.get(code, code)),
                _e(reach.text()) if reach else "—",
                _n(t.impressions),
                _n(t.clicks),
                _n(t.signposting_clicks),
                _n(t.app_download_clicks),
                _e(money(t.cost_minor)),
                _n(figures.outcomes_by_country.get(code)) if figures.outcomes_apply else "—",
            )
        )
    headers = [
        "country",
        "people reached",
        "impressions",
        "clicks",
        "signposting clicks",
        "app-download clicks",
        "spend",
        "signposted to safety (partner-reported)",
    ]
    return _table(headers, rows)


def _organisations(figures: ImpactFigures, names: Names, top: int) -> str:
    orgs = set(figures.signposting_by_organisation) | set(figures.outcomes_by_organisation)
    ranked = sorted(
        orgs,
        key=lambda org: (
            -figures.signposting_by_organisation.get(org, 0),
            -figures.outcomes_by_organisation.get(org, 0),
            org,
        ),
    )[:top]
    rows = [
        (
            _e(names.organisations.get(org, org)),
            _n(figures.signposting_by_organisation.get(org, 0)),
            _n(figures.outcomes_by_organisation.get(org)) if figures.outcomes_apply else "—",
        )
        for org in ranked
    ]
    return _table(
        ["organisation", "signposting clicks (simulated)", "signposted to safety (partner-reported)"], rows
    )


def _timeline(figures: ImpactFigures) -> str:
    if not figures.timeline:
        return '<p class="note">No key judgement, targeting change or push in this period.</p>'
    rows = [(_e(e.when), _e(e.kind), _e(e.reference), _e(e.what), _e(e.who)) for e in figures.timeline]
    return _table(["date", "what", "reference", "change", "by / approved by"], rows, numeric_from=99)


def _benchmark_table(figures: ImpactFigures, benchmark: Benchmark) -> str:
    rows = [
        (_e(label), _e(published), _e(ours)) for label, published, ours in figures.headline_rows(benchmark)
    ]
    source = "simulated" if figures.simulated else "as the platforms report them"
    return (
        f"<h2>Beside the {_e(benchmark.title)}</h2>"
        f'<p class="note">{_e(benchmark.note)} This report\'s figures are computed from the warehouse; '
        f"platform figures here are {source}; people signposted to safety is partner-reported.</p>"
        + _table(["figure", benchmark.title, "this report"], rows, numeric_from=99)
    )


def render_html(
    figures: ImpactFigures,
    config: CampaignConfig,
    top_organisations: int = 10,
    title: str = "SafePassage impact report",
    controls: str = "",
    benchmark: Benchmark | None = None,
) -> str:
    """The whole page; `controls` (HTML) goes under the heading (the dashboard's filter form);
    `benchmark`: published figures to set the whole campaign's beside."""
    names = Names.of(config)
    sim = SIMULATED if figures.simulated else ""
    banner = (
        '<div class="banner"><b>Simulated platform figures.</b> This warehouse is filled from the local '
        "emulators of Google Ads and Meta: every delivery figure (reach, impressions, clicks, spend) is "
        "simulated and marked so. People signposted to safety comes from partners' reports.</div>"
        if figures.simulated
        else ""
    )
    breakdowns = "".join(
        _breakdown(title_, figures.breakdowns[key], label, sim)
        for key, title_, label in (
            ("language", "language", names.languages),
            ("placement", "placement", {}),
            ("device", "device", {}),
            ("platform", "platform", PLATFORM_NAMES),
            ("theme", "theme", {}),
        )
    )
    # published figures are for the whole campaign: set them beside the whole campaign's only
    compare = _benchmark_table(figures, benchmark) if benchmark and figures.part.is_everything else ""
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"<h1>{_e(title)}</h1>"
        f'<div class="meta">{_e(figures.period)} · {_e(figures.part.describe())} · '
        f"generated {generated}</div>{controls}"
        f"{banner}<h2>Headline figures</h2>{headline_cards(figures, sim)}"
        f"{_reach_section(figures, names, sim)}{compare}"
        f'<h2>Per country{sim}</h2><div class="chart">{country_chart(figures, names)}</div>'
        f"{_country_table(figures, names, sim)}"
        f'<h2>Month by month{sim}</h2><div class="chart">{monthly_chart(figures)}</div>'
        f'<h2>Language, placement and device</h2><div class="grid">{breakdowns}</div>'
        f"<h2>Top support organisations signposted</h2>{_organisations(figures, names, top_organisations)}"
        "<h2>Intelligence timeline</h2>"
        '<p class="note">Which key judgement changed the targeting, what changed, and who approved the '
        "resulting pushes (from the judgement store, targeting snapshots and push-plan decisions).</p>"
        f"{_timeline(figures)}"
        '<h2>How the figures are made</h2><ul class="note">'
        "<li>People reached: each platform's unique reach for exactly this period; across platforms, "
        "accounts or countries a range (largest … sum), never a total of daily figures.</li>"
        "<li>Traffic = clicks to a landing page; mobile share = mobile clicks ÷ all clicks.</li>"
        "<li>Signposting clicks = clicks on a support organisation's link; cost per signposting click = "
        "spend ÷ signposting clicks.</li>"
        "<li>People signposted to safety: counts the partner organisations report per organisation, "
        "country and month (intelligence/outcomes/); the platforms cannot see it.</li></ul>"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)} {_e(figures.period)}'
        f"</title><style>{CSS}</style></head><body>{body}</body></html>"
    )


# WeasyPrint logs every layout step and fontTools every table of every font it subsets: thousands of
# INFO lines per report in the task log, which ops staff read for the lines that matter.
PDF_LOGGERS = ("weasyprint", "fontTools")


def write_pdf(page_html: str, path: Path) -> Path:
    from weasyprint import HTML

    for name in PDF_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=page_html).write_pdf(str(path))
    return path


@dataclass(frozen=True)
class WrittenReport:
    html: Path
    pdf: Path
    headline: dict[str, Any]
    rows: list[tuple[str, str, str]]  # (figure, as published or "", this report)
    compared_with: str = ""  # the benchmark's title; "": none

    def summary(self) -> str:
        lines = [f"Impact report: {self.html}", f"          PDF: {self.pdf}"]
        width = max(len(label) for label, _, _ in self.rows)
        lines.append(f"  {'figure'.ljust(width)}  {self.compared_with:>20}  {'this report':>18}")
        lines.extend(
            f"  {label.ljust(width)}  {published:>20}  {ours:>18}" for label, published, ours in self.rows
        )
        return "\n".join(lines)


def write_report(
    figures: ImpactFigures,
    config: CampaignConfig,
    out_dir: Path,
    top_organisations: int = 10,
    benchmark: Benchmark | None = None,
) -> WrittenReport:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"impact-report-{figures.period.start.isoformat()}-{figures.period.end.isoformat()}"
    page_html = render_html(figures, config, top_organisations, benchmark=benchmark)
    html_path = out_dir / f"{stem}.html"
    html_path.write_text(page_html, encoding="utf-8")
    pdf_path = write_pdf(page_html, out_dir / f"{stem}.pdf")
    return WrittenReport(
        html_path,
        pdf_path,
        figures.headline(),
        figures.headline_rows(benchmark),
        benchmark.title if benchmark else "",
    )


def make_report(
    warehouse: Warehouse,
    period: Period,
    out_dir: Path,
    part: Any = None,
    load_partner_outcomes: bool = True,
    benchmark: Benchmark | None = None,
) -> WrittenReport:
    """Load the partners' outcome files, compute every figure, write HTML and PDF."""
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.impact import compute_impact, load_reporting_settings
    from safepassage.services.outcomes import load_outcomes

    config = load_campaign_config()
    reporting = load_reporting_settings()
    if load_partner_outcomes:
        load_outcomes(warehouse, config)
    figures = compute_impact(warehouse, period, part, simulated=reporting.platform_figures_simulated)
    return write_report(figures, config, out_dir, reporting.top_organisations, benchmark)


def report_period(warehouse: Warehouse, start: str | None, end: dt.date, end_given: bool = True) -> Period:
    """The period a scheduled run reports on: from `start` (default: the campaign's first day of
    delivery, or `end` when nothing was delivered yet) to `end` (when not given: the last day pulled,
    if that is earlier, so a report on a finished campaign ends where its delivery ended and its
    period matches the pulled reach window)."""

    if not end_given:
        last = warehouse.impact.last_performance_date()
        end = min(end, last) if last else end
    first = dt.date.fromisoformat(start) if start else warehouse.impact.first_performance_date() or end
    return Period(min(first, end), end)


def reports_dir(period: Period) -> Path:
    from safepassage import settings

    return settings.data_dir() / "reports" / f"{period.start.isoformat()}_{period.end.isoformat()}"
