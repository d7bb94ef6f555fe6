"""Performance maths: pull windows, link attribution, data-quality checks, cost per signposting click.

Pure (no I/O). Privacy by construction: a signposting or app-download click is a click on an ad
whose tracked link goes to a support organisation or to an app store. Nothing here (nor anywhere
in the pull) reads a pixel or conversion tag on an organisation's site: the warehouse learns how
many people clicked through to an organisation, never who, nor what they did there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from safepassage.domain.creatives import LANGUAGE_PARAMETER, ORG_PARAMETER, host_of, link_parameters

# Links that count as app-download clicks: the app stores and the STOP APP's own page.
APP_LINK_PATTERNS = ("apps.apple.com", "play.google.com", "stopthetraffik.org/stop-app")


# --- what a pull reads from a platform (with the platform's own ids) and what a load stored ---


@dataclass(frozen=True)
class CampaignRef:
    external_id: str
    name: str
    status: str = "UNKNOWN"
    country_code: str | None = None
    theme: str | None = None


@dataclass(frozen=True)
class AdGroupRef:
    campaign_external_id: str
    external_id: str
    name: str
    status: str = "UNKNOWN"
    language_code: str | None = None


@dataclass(frozen=True)
class AdRef:
    ad_group_external_id: str
    external_id: str
    name: str = ""
    status: str = "UNKNOWN"
    final_url: str | None = None
    link_destination: str = "other"  # organisation | app | other
    organisation_id: str | None = None
    theme: str | None = None


@dataclass
class AccountTree:
    """What the platform reported the account is made of, for the dimensions."""

    platform: str
    external_id: str
    currency: str
    name: str = ""
    campaigns: list[CampaignRef] = field(default_factory=list)
    ad_groups: list[AdGroupRef] = field(default_factory=list)
    ads: list[AdRef] = field(default_factory=list)


@dataclass(frozen=True)
class PulledRow:
    """One day × ad × country × language × device × placement, with platform (external) ids."""

    date: dt.date
    ad_external_id: str
    country_code: str
    language_code: str
    device: str
    placement: str
    impressions: int
    clicks: int
    cost_minor: int
    link_clicks: int | None = None  # clicks on the ad's tracked link, when the platform tells them apart


@dataclass(frozen=True)
class ReachRow:
    scope_level: str  # account | campaign
    scope_external_id: str
    country_code: str  # ISO code, or ALL
    reach: int
    impressions: int


@dataclass(frozen=True)
class LoadResult:
    rows: int
    signposting_rows: int
    reach_rows: int
    window: Window

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "signposting_rows": self.signposting_rows,
            "reach_rows": self.reach_rows,
            "window": str(self.window),
        }


PLATFORM_NAMES = ("google_ads", "meta")


def _known_platform(name: str) -> str:
    if name not in PLATFORM_NAMES:
        raise ValueError(f"unknown platform {name!r}: use {' or '.join(PLATFORM_NAMES)}")
    return name


PlatformName = Annotated[str, AfterValidator(_known_platform)]


class PerformanceSettings(BaseModel):
    """`config/performance.yaml`: how far back each pull re-reads, and the quality-check tolerances."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Keyed by platform name: a misspelt platform would otherwise silently fall back to the default.
    lookback_days: dict[PlatformName, Annotated[int, Field(ge=1, le=400)]] = Field(
        default_factory=lambda: {"google_ads": 14, "meta": 28}
    )
    overdelivery_factor: dict[PlatformName, Annotated[float, Field(ge=1, allow_inf_nan=False)]] = Field(
        default_factory=lambda: {"google_ads": 2.0, "meta": 1.25}
    )
    report_timeout_seconds: float = Field(default=300, gt=0)
    report_poll_seconds: float = Field(default=5, ge=0)  # the longest wait between two polls
    report_first_poll_seconds: float = Field(default=0.5, ge=0)  # doubles per poll up to the above
    # first back-off after a failed call (doubling with each attempt) when the platform names no wait
    retry_seconds: float = Field(default=2, gt=0)
    weighting_window_days: int = Field(default=28, ge=1)
    weighting_min_clicks: int = Field(default=30, ge=0)
    prior_strength_clicks: float = Field(default=20, ge=0)


# --- windows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Inclusive UTC date range a pull reads from the platform and replaces in the warehouse."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def each_day(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=offset) for offset in range(self.days)]

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


def pull_window(
    interval_end: dt.date,
    lookback_days: int,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
) -> Window:
    """The days a run re-reads: its data interval's last day back over the lookback, or an explicit
    backfill range (`since`..`until`, which may be any length and is never shortened). Never reaches
    past `today` (the platforms report nothing later)."""
    if since is not None or until is not None:
        start = since or (until or interval_end) - dt.timedelta(days=lookback_days - 1)
        end = until or interval_end
    else:
        end = interval_end
        start = end - dt.timedelta(days=max(lookback_days, 1) - 1)
    if today is not None:
        end = min(end, today)
    return Window(start, end)


# --- link attribution ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkAttribution:
    destination: str  # organisation | app | other
    organisation_id: str | None
    language: str | None  # the link's sp_lang, when it carries one


def attribute_link(url: str, organisation_urls: Mapping[str, str]) -> LinkAttribution:
    """Where a click on this link goes: the `sp_org` parameter of our tracked links names the
    organisation; otherwise the organisation whose host and path prefix match. App links win."""
    if not url:
        return LinkAttribution("other", None, None)
    params = link_parameters(url)
    language = params.get(LANGUAGE_PARAMETER)
    lowered = url.lower()
    named = params.get(ORG_PARAMETER)
    organisation = named if named in organisation_urls else _organisation_by_url(url, organisation_urls)
    if any(pattern in lowered for pattern in APP_LINK_PATTERNS):
        return LinkAttribution("app", organisation, language)
    if organisation is not None:
        return LinkAttribution("organisation", organisation, language)
    return LinkAttribution("other", None, language)


def _organisation_by_url(url: str, organisation_urls: Mapping[str, str]) -> str | None:
    host, path = host_of(url), urlsplit(url).path or "/"
    best: tuple[int, str] | None = None
    for org_id, org_url in organisation_urls.items():
        org_path = urlsplit(org_url).path or "/"
        matches = host_of(org_url) == host and path.startswith(org_path.rstrip("/") or "/")
        if matches and (best is None or len(org_path) > best[0]):
            best = (len(org_path), org_id)
    return best[1] if best else None


# --- data quality -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityFinding:
    check: str
    rows: tuple[str, ...]  # each offending row, described for a person

    def __str__(self) -> str:
        shown = "; ".join(self.rows[:10])
        more = f" (and {len(self.rows) - 10} more)" if len(self.rows) > 10 else ""
        return f"{self.check}: {len(self.rows)} row(s): {shown}{more}"


class QualityCheckFailed(Exception):
    """A load broke a data-quality rule; nothing was committed. The message names the rows."""

    def __init__(self, findings: Iterable[QualityFinding]) -> None:
        self.findings = tuple(findings)
        super().__init__("performance data quality: " + " | ".join(str(f) for f in self.findings))


def duplicate_keys(counted_keys: Iterable[tuple[tuple[object, ...], int]]) -> QualityFinding | None:
    rows = tuple(f"{'/'.join(map(str, key))} ×{count}" for key, count in counted_keys if count > 1)
    return QualityFinding("natural key not unique", rows) if rows else None


def negative_metrics(rows: Iterable[tuple[tuple[object, ...], Mapping[str, int]]]) -> QualityFinding | None:
    found = tuple(
        f"{'/'.join(map(str, key))}: {name}={value}"
        for key, metrics in rows
        for name, value in metrics.items()
        if value < 0
    )
    return QualityFinding("negative metric", found) if found else None


def overspend(
    spend: Mapping[tuple[dt.date, str], int],
    budgets: Mapping[tuple[dt.date, str], int],
    factor: float,
) -> QualityFinding | None:
    """Spend per (day, country) above the pushed daily budget × the platform's allowed overdelivery.
    Days without a known pushed budget are not judged."""
    found = tuple(
        f"{day} {country}: spent {amount} > {factor}× budget {budgets[(day, country)]}"
        for (day, country), amount in sorted(spend.items())
        if (day, country) in budgets and amount > budgets[(day, country)] * factor
    )
    return QualityFinding("spend above the pushed daily budget", found) if found else None


def totals_mismatch(
    ours: Mapping[dt.date, Mapping[str, int]], platform: Mapping[dt.date, Mapping[str, int]]
) -> QualityFinding | None:
    """Per-day sums of what was loaded against the platform's own account-level totals."""
    found = []
    for day in sorted(set(ours) | set(platform)):
        loaded, reported = ours.get(day, {}), platform.get(day, {})
        for metric in sorted(set(loaded) | set(reported)):
            if loaded.get(metric, 0) != reported.get(metric, 0):
                found.append(
                    f"{day} {metric}: loaded {loaded.get(metric, 0)}, "
                    f"platform reports {reported.get(metric, 0)}"
                )
    return (
        QualityFinding("per-day totals differ from the platform's account totals", tuple(found))
        if found
        else None
    )


# --- closing the loop ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostPerClick:
    country: str
    cost_minor: int
    clicks: int
    shrunk_minor: int  # what the allocator uses


def shrunk_cost_per_click(
    observed: Mapping[str, tuple[int, int]], *, prior_strength_clicks: float, min_total_clicks: int
) -> dict[str, CostPerClick]:
    """Cost per signposting click per country, shrunk toward the pooled rate (empirical Bayes with a
    gamma-Poisson prior of `prior_strength_clicks` pseudo-clicks at the pooled cost per click):
    (cost + k·pooled) / (clicks + k). A country with few clicks stays near the pool; one with many
    speaks for itself. Nothing at all until `min_total_clicks` signposting clicks exist overall."""
    total_cost = sum(cost for cost, _ in observed.values())
    total_clicks = sum(clicks for _, clicks in observed.values())
    if total_clicks < max(1, min_total_clicks) or total_cost <= 0:
        return {}
    pooled = Fraction(total_cost, total_clicks)
    strength = Fraction(prior_strength_clicks)
    out = {}
    for country, (cost, clicks) in sorted(observed.items()):
        if cost <= 0:
            continue  # nothing spent there: no evidence either way
        shrunk = (cost + strength * pooled) / (clicks + strength) if clicks + strength else pooled
        out[country] = CostPerClick(country, cost, clicks, max(1, round(shrunk)))
    return out
