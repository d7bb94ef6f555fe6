"""Meta daily performance through the official facebook-business SDK: async insights report runs.

Per account and window: the campaign tree (campaigns, ad sets with their locales, ads with their
creatives' links) read once; one async `AdReportRun` at ad level by day with the `country`,
`device_platform` and `publisher_platform` breakdowns, whose result pages are streamed; the account's
own per-day totals and the window's unique reach (per country and overall, as Meta computes it:
never a sum of days) from two small synchronous reads.

A report run that fails, or is still not complete when its deadline passes, is abandoned (none of its
rows are read) and the work is split one level down: account → its campaigns → a campaign's ad sets.
The pieces are disjoint, so nothing is counted twice. Throttling (codes 4, 17, 32, 613, 80000–80014)
waits as long as `X-Business-Use-Case-Usage` / `X-Ad-Account-Usage` say access returns, then retries
the same call; 5xx, Meta's transient codes and a call left without an answer back off and retry.
Errors raised from here carry the code and Meta's message only, never the request (whose query
string holds the access token).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adreportrun import AdReportRun
from facebook_business.adobjects.adset import AdSet
from facebook_business.adobjects.campaign import Campaign
from facebook_business.api import FacebookAdsApi
from facebook_business.exceptions import FacebookRequestError
from requests import RequestException

from safepassage.domain.performance import (
    AccountTree,
    AdGroupRef,
    AdRef,
    CampaignRef,
    PulledRow,
    ReachRow,
    Window,
    attribute_link,
)

PLATFORM = "meta"
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
DEVICES = {"mobile_app": "mobile", "desktop": "desktop"}
ROW_FIELDS = ["ad_id", "impressions", "clicks", "inline_link_clicks", "spend", "date_start"]
BREAKDOWNS = ["country", "device_platform", "publisher_platform"]
PAGE_LIMIT = 500
MAX_COUNT = 10**15  # far above any real count; a bigger one is a corrupt reply
T = TypeVar("T")
log = logging.getLogger(__name__)


class MetaPullError(Exception):
    """A Meta call failed for good. Carries the API code and message, never the request."""


class ReportStalled(Exception):
    """An async report run failed or missed its deadline; its piece of work is split."""


def _safe(error: FacebookRequestError) -> str:
    return f"Meta API error {error.api_error_code()}/{error.api_error_subcode()}: {error.api_error_message()}"


def regain_seconds(headers: Mapping[str, str]) -> float | None:
    """How long the usage headers say to wait before calling again (None: they do not say)."""
    waits: list[float] = []
    for name, value in headers.items():
        lowered = name.lower()
        try:
            if lowered == "x-business-use-case-usage":
                for entries in json.loads(value).values():
                    waits += [float(e.get("estimated_time_to_regain_access", 0)) * 60 for e in entries]
            elif lowered == "x-ad-account-usage":
                waits.append(float(json.loads(value).get("reset_time_duration", 0)))
        except (ValueError, AttributeError, TypeError):
            continue
    positive = [w for w in waits if w > 0]
    return max(positive) if positive else None


@dataclass
class MetaPerformanceReader:
    """One ad account. `languages_by_locale` and `organisation_urls` come from config."""

    api: Any  # FacebookAdsApi, wrapped to count requests
    account_id: str
    languages_by_locale: Mapping[int, str]
    organisation_urls: Mapping[str, str]
    report_timeout_seconds: float = 300
    poll_seconds: float = 5  # the longest wait between two polls of a report
    first_poll_seconds: float = 0.5  # the first wait; it doubles per poll up to poll_seconds
    retry_seconds: float = 2  # first back-off when the platform names no wait; doubles per attempt
    max_attempts: int = 6
    max_wait_seconds: float = 900
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    requests: int = 0
    splits: list[str] = field(default_factory=list)
    _currency: str = "EUR"
    _ads: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # ad → (ad set, language)
    _campaign_ad_sets: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.account_id.startswith("act_"):
            self.account_id = f"act_{self.account_id}"
        self.api = _CountingApi(self.api, self)

    # -- calls --------------------------------------------------------------------------------------
    def _call(self, what: str, call: Callable[[], T]) -> T:
        for attempt in range(1, self.max_attempts + 1):
            try:
                return call()
            except FacebookRequestError as error:
                code = error.api_error_code()
                throttled = code in THROTTLE_CODES
                transient = throttled or code in TRANSIENT_CODES or (error.http_status() or 0) >= 500
                if not transient or attempt == self.max_attempts:
                    raise MetaPullError(f"{self.account_id} {what}: {_safe(error)}") from None
                wait = regain_seconds(error.http_headers() or {}) if throttled else None
                delay = min(self.max_wait_seconds, wait if wait is not None else self._backoff(attempt))
                log.warning("Meta %s %s: %s; retrying in %.0fs", self.account_id, what, _safe(error), delay)
                self.sleep(delay)
            except (
                RequestException
            ) as error:  # no answer (connection dropped, timed out): a read is safe to resend
                if attempt == self.max_attempts:
                    raise MetaPullError(
                        f"{self.account_id} {what}: no answer ({type(error).__name__})"
                    ) from None
                delay = min(self.max_wait_seconds, self._backoff(attempt))
                log.warning(
                    "Meta %s %s: no answer (%s); retrying in %.0fs",
                    self.account_id,
                    what,
                    type(error).__name__,
                    delay,
                )
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return float(self.retry_seconds * 2 ** (attempt - 1))

    def _each(self, what: str, cursor: Any) -> Iterator[Any]:
        """Iterate an SDK cursor page by page, retrying a failed page fetch (the cursor keeps its place)."""
        iterator = iter(cursor)
        while True:
            try:
                item = self._call(what, lambda: next(iterator))
            except StopIteration:
                return
            yield item

    # -- the tree -------------------------------------------------------------------------------------
    def read_tree(self) -> AccountTree:
        account = AdAccount(self.account_id, api=self.api)
        info = self._call("account", lambda: account.api_get(fields=["name", "currency"]))
        self._currency = str(info.get("currency") or "EUR")
        tree = AccountTree(PLATFORM, self.account_id, self._currency, str(info.get("name") or ""))
        # deleted and paused objects too: they may have delivered inside the window
        statuses = ["ACTIVE", "PAUSED", "DELETED", "ARCHIVED"]
        everything: dict[str, Any] = {"limit": PAGE_LIMIT, "effective_status": statuses}
        everything_below = {**everything, "effective_status": [*statuses, "CAMPAIGN_PAUSED"]}
        every_ad = {**everything, "effective_status": [*statuses, "CAMPAIGN_PAUSED", "ADSET_PAUSED"]}
        for campaign in self._each(
            "campaigns",
            self._call(
                "campaigns", lambda: account.get_campaigns(fields=["name", "status"], params=everything)
            ),
        ):
            tree.campaigns.append(
                CampaignRef(campaign["id"], campaign.get("name", ""), campaign.get("status", "UNKNOWN"))
            )
        ad_set_language: dict[str, str | None] = {}
        for ad_set in self._each(
            "ad sets",
            self._call(
                "ad sets",
                lambda: account.get_ad_sets(
                    fields=["name", "status", "campaign_id", "targeting"], params=everything_below
                ),
            ),
        ):
            locales = (ad_set.get("targeting") or {}).get("locales") or []
            languages = {
                self.languages_by_locale[int(x)] for x in locales if int(x) in self.languages_by_locale
            }
            language = next(iter(languages)) if len(languages) == 1 else None
            ad_set_language[ad_set["id"]] = language
            self._campaign_ad_sets.setdefault(ad_set["campaign_id"], []).append(ad_set["id"])
            tree.ad_groups.append(
                AdGroupRef(
                    ad_set["campaign_id"],
                    ad_set["id"],
                    ad_set.get("name", ""),
                    ad_set.get("status", "UNKNOWN"),
                    language,
                )
            )
        links: dict[str, str] = {}
        for creative in self._each(
            "creatives",
            self._call(
                "creatives",
                lambda: account.get_ad_creatives(fields=["object_story_spec"], params={"limit": PAGE_LIMIT}),
            ),
        ):
            spec = creative.get("object_story_spec") or {}
            links[creative["id"]] = str((spec.get("link_data") or {}).get("link") or "")
        for ad in self._each(
            "ads",
            self._call(
                "ads",
                lambda: account.get_ads(fields=["name", "status", "adset_id", "creative"], params=every_ad),
            ),
        ):
            url = links.get(str((ad.get("creative") or {}).get("id", "")), "")
            link = attribute_link(url, self.organisation_urls)
            language = ad_set_language.get(ad["adset_id"]) or link.language
            self._ads[ad["id"]] = (ad["adset_id"], language)
            tree.ads.append(
                AdRef(
                    ad["adset_id"],
                    ad["id"],
                    ad.get("name", ""),
                    ad.get("status", "UNKNOWN"),
                    url,
                    link.destination,
                    link.organisation_id,
                    _theme(url),
                )
            )
        return tree

    # -- daily rows -----------------------------------------------------------------------------------
    def rows(self, window: Window) -> Iterator[PulledRow]:
        """Daily ad rows by country, device and publisher platform; stalled reports are split."""
        params = {
            "level": "ad",
            "time_increment": 1,
            "time_range": {"since": window.start.isoformat(), "until": window.end.isoformat()},
            "breakdowns": BREAKDOWNS,
        }
        yield from self._report(("account", self.account_id), params)

    def _report(self, node: tuple[str, str], params: dict[str, Any]) -> Iterator[PulledRow]:
        level, node_id = node
        target: Any = {"account": AdAccount, "campaign": Campaign, "adset": AdSet}[level](
            node_id, api=self.api
        )
        try:
            run = self._run_to_completion(target, params, f"{level} {node_id}")
        except ReportStalled as stalled:
            children = self._children(level, node_id)
            if children is None:
                raise MetaPullError(
                    f"{self.account_id}: the report for {level} {node_id} {stalled} "
                    "and cannot be split further"
                ) from None
            self.splits.append(
                f"{level} {node_id}: {stalled}; split into {len(children)} {children and children[0][0]}(s)"
            )
            log.warning(
                "Meta %s: report for %s %s %s; splitting into %d",
                self.account_id,
                level,
                node_id,
                stalled,
                len(children),
            )
            for child in children:
                yield from self._report(child, params)
            return
        cursor = self._call("report rows", lambda: run.get_insights(params={"limit": PAGE_LIMIT}))
        for item in self._each("report rows", cursor):
            yield self._row(item)

    def _children(self, level: str, node_id: str) -> list[tuple[str, str]] | None:
        if level == "account":
            return [("campaign", c) for c in sorted(self._campaign_ad_sets)]
        if level == "campaign":
            return [("adset", a) for a in sorted(self._campaign_ad_sets.get(node_id, []))]
        return None

    def _run_to_completion(self, target: Any, params: dict[str, Any], what: str) -> AdReportRun:
        run = self._call(
            f"start report for {what}",
            lambda: target.get_insights(fields=ROW_FIELDS, params=params, is_async=True),
        )
        deadline = self.clock() + self.report_timeout_seconds
        waits = self._poll_waits()
        while True:
            status = self._call(
                f"poll report for {what}",
                lambda: run.api_get(fields=["async_status", "async_percent_completion"]),
            )
            state = status.get("async_status")
            if state == "Job Completed":
                return run
            if state in ("Job Failed", "Job Skipped"):
                raise ReportStalled(f"ended {state}")
            if self.clock() >= deadline:
                raise ReportStalled(
                    f"was still {state} at {status.get('async_percent_completion')}% "
                    f"after {self.report_timeout_seconds:.0f}s"
                )
            self.sleep(next(waits))

    def _poll_waits(self) -> Iterator[float]:
        """Short waits first (a small report is ready in a second or two), then every poll_seconds."""
        wait = min(self.first_poll_seconds, self.poll_seconds)
        while True:
            yield wait
            wait = min(self.poll_seconds, wait * 2)

    def _row(self, item: Mapping[str, Any]) -> PulledRow:
        field_of = partial(reported, item, f"{self.account_id} report row")
        ad = field_of("ad_id", str)
        _, language = self._ads.get(ad, ("", None))
        clicks = field_of("clicks", count, "0")
        return PulledRow(
            field_of("date_start", dt.date.fromisoformat),
            ad,
            str(item.get("country", "")).upper(),
            language or "",
            DEVICES.get(str(item.get("device_platform")), "other"),
            str(item.get("publisher_platform") or "all"),
            field_of("impressions", count, "0"),
            clicks,
            field_of("spend", to_minor, "0"),
            field_of("inline_link_clicks", count, clicks),
        )

    # -- account totals and reach ---------------------------------------------------------------------
    def daily_totals(self, window: Window) -> dict[dt.date, dict[str, int]]:
        account = AdAccount(self.account_id, api=self.api)
        params = {
            "level": "account",
            "time_increment": 1,
            "time_range": {"since": window.start.isoformat(), "until": window.end.isoformat()},
            "limit": PAGE_LIMIT,
        }
        cursor = self._call(
            "daily totals",
            lambda: account.get_insights(
                fields=["impressions", "clicks", "spend", "date_start"], params=params
            ),
        )
        totals: dict[dt.date, dict[str, int]] = {}
        for r in self._each("daily totals", cursor):
            field_of = partial(reported, r, f"{self.account_id} daily totals")
            day = {
                "impressions": field_of("impressions", count, "0"),
                "clicks": field_of("clicks", count, "0"),
                "cost_minor": field_of("spend", to_minor, "0"),
            }
            if day["impressions"] or day["cost_minor"]:
                totals[field_of("date_start", dt.date.fromisoformat)] = day
        return totals

    def period_reach(self, window: Window) -> list[ReachRow]:
        """Unique reach over the whole window, per country and for the account (country ALL)."""
        account = AdAccount(self.account_id, api=self.api)
        out: list[ReachRow] = []
        for breakdowns in (["country"], []):
            params: dict[str, Any] = {
                "level": "account",
                "time_increment": "all_days",
                "time_range": {"since": window.start.isoformat(), "until": window.end.isoformat()},
                "limit": PAGE_LIMIT,
            }
            if breakdowns:
                params["breakdowns"] = breakdowns
            cursor = self._call(
                "reach", partial(account.get_insights, fields=["reach", "impressions"], params=params)
            )
            for r in self._each("reach", cursor):
                field_of = partial(reported, r, f"{self.account_id} reach")
                out.append(
                    ReachRow(
                        "account",
                        self.account_id,
                        str(r.get("country", "ALL")).upper(),
                        field_of("reach", count, "0"),
                        field_of("impressions", count, "0"),
                    )
                )
        return out


class _CountingApi:
    """The SDK session, counting every HTTP request sent through it (pages and polls included)."""

    def __init__(self, api: FacebookAdsApi, reader: MetaPerformanceReader) -> None:
        self._api, self._reader = api, reader

    def call(self, *args: Any, **kwargs: Any) -> Any:
        self._reader.requests += 1
        return self._api.call(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)


def to_minor(amount: Any, exponent: int = 2) -> int:
    """Meta's decimal spend string ("12.34") → minor units, exactly."""
    minor = int(Decimal(str(amount or "0")).scaleb(exponent).to_integral_value())
    if minor < 0:
        raise ValueError("negative")
    return minor


def count(value: Any) -> int:
    """A count Meta reports ("123", or 123): a whole number, not negative, not absurdly large."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    number = Decimal(str(value))
    if not number.is_finite() or number != number.to_integral_value() or not 0 <= number < MAX_COUNT:
        raise ValueError(f"not a whole number from 0 to {MAX_COUNT:,}")
    return int(number)


_ABSENT = object()


def reported(
    item: Mapping[str, Any], where: str, name: str, convert: Callable[[Any], T], default: Any = _ABSENT
) -> T:
    """One field of a row Meta returned, converted; a missing or malformed one is a MetaPullError
    naming the field (the pull stops and its transaction stores nothing), never a bare KeyError."""
    value = item.get(name, default) if default is not _ABSENT else item.get(name, _ABSENT)
    if value is _ABSENT:
        raise MetaPullError(f"{where}: Meta's reply has no {name!r}")
    try:
        return convert(value)
    except (TypeError, ValueError, ArithmeticError) as error:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise MetaPullError(f"{where}: field {name!r} is {shown}, not usable ({error})") from None


def _theme(url: str) -> str | None:
    from safepassage.domain.creatives import link_parameters

    campaign = link_parameters(url).get("utm_campaign", "") if url else ""
    return campaign.rsplit("_", 1)[-1] if "_" in campaign else None
