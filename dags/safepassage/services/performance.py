"""Pull daily performance from an ad platform into the warehouse: read → stream → load → check.

One call = one platform account over one window (a daily run's data interval plus the lookback, or a
backfill of any length, through the same code). The load replaces the window in one transaction, so a
failure anywhere (an API error mid-stream, a failed quality check) leaves the warehouse as it was; a
retryable failure re-runs the whole pull, which then replaces the same rows again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from safepassage import settings
from safepassage.adapters.files import load_document
from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.errors import InvalidInput
from safepassage.domain.performance import (
    AccountTree,
    LoadResult,
    PerformanceSettings,
    PulledRow,
    ReachRow,
    Window,
    pull_window,
)
from safepassage.services.ports import Warehouse

PERFORMANCE_FILE = "performance.yaml"
log = logging.getLogger(__name__)


def load_performance_settings(config_dir: Path | None = None) -> PerformanceSettings:
    directory = Path(config_dir or settings.config_dir())
    path = directory / PERFORMANCE_FILE
    if not path.exists():
        return PerformanceSettings()
    document = load_document(path, display_name=f"config/{PERFORMANCE_FILE}")
    try:
        return PerformanceSettings.model_validate(document.data)
    except ValidationError as error:
        raise InvalidInput(document.problems_from(error)) from None


def window_for(
    platform: str,
    interval_end: dt.date,
    performance: PerformanceSettings,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    today: dt.date | None = None,
) -> Window:
    return pull_window(
        interval_end, performance.lookback_days.get(platform, 28), since=since, until=until, today=today
    )


@dataclass
class PullResult:
    platform: str
    account: str
    window: Window
    rows: int = 0
    signposting_rows: int = 0
    reach_rows: int = 0
    requests: int = 0
    attempts: int = 0
    splits: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "window": str(self.window),
            "rows": self.rows,
            "signposting_rows": self.signposting_rows,
            "reach_rows": self.reach_rows,
            "requests": self.requests,
            "attempts": self.attempts,
            "splits": self.splits,
        }


def organisation_urls(config: CampaignConfig) -> dict[str, str]:
    return {org.id: str(org.url) for org in config.organisations}


class _PerformanceReader(Protocol):
    def read_tree(self) -> AccountTree: ...
    def daily_totals(self, window: Window) -> dict[dt.date, dict[str, int]]: ...
    def rows(self, window: Window) -> Iterator[PulledRow]: ...


def _load_window(
    warehouse: Warehouse,
    reader: _PerformanceReader,
    window: Window,
    overdelivery_factor: float | None,
    reach: Callable[[Window], Sequence[ReachRow]] | None = None,
) -> LoadResult:
    """Reads the account (its tree, daily totals and, where the platform reports it, reach), then
    streams its rows into the warehouse in place of the window's, checked, in one transaction."""
    tree = reader.read_tree()
    totals = reader.daily_totals(window)
    return warehouse.performance.replace_window(
        tree,
        window,
        reader.rows(window),
        reach=reach(window) if reach is not None else (),
        platform_totals=totals,
        overdelivery_factor=overdelivery_factor,
    )


def pull_google_ads(
    warehouse: Warehouse,
    client: Any,
    customer_id: str,
    config: CampaignConfig,
    performance: PerformanceSettings,
    window: Window,
    *,
    currency: str = "EUR",
    attempts: int = 4,
    sleep: Callable[[float], None] = time.sleep,
) -> PullResult:
    """One customer over `window`: five requests, rows streamed into one replacing transaction."""
    from safepassage.adapters.google_ads import GoogleAdsCallFailed
    from safepassage.adapters.google_ads_performance import PLATFORM, GooglePerformanceReader

    result = PullResult(PLATFORM, customer_id, window)
    for attempt in range(1, attempts + 1):
        result.attempts = attempt
        reader = GooglePerformanceReader(
            client,
            customer_id,
            {c.google_geo_target_id: c.code for c in config.countries},
            {lang.google_language_id: lang.code for lang in config.languages},
            organisation_urls(config),
            currency,
        )
        try:
            loaded = _load_window(warehouse, reader, window, performance.overdelivery_factor.get(PLATFORM))
        except GoogleAdsCallFailed as failure:
            result.requests += reader.requests
            if not failure.retryable or attempt == attempts:
                raise
            delay = failure.quota_delay or performance.retry_seconds * 2 ** (attempt - 1)
            log.warning("Google Ads %s pull %s: %s; retrying in %.1fs", customer_id, window, failure, delay)
            sleep(delay)
            continue
        result.requests += reader.requests
        result.rows, result.signposting_rows = loaded.rows, loaded.signposting_rows
        return result
    raise AssertionError("unreachable")


def pull_meta(
    warehouse: Warehouse,
    api: Any,
    account_id: str,
    config: CampaignConfig,
    performance: PerformanceSettings,
    window: Window,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PullResult:
    """One ad account over `window`: async report (split when it stalls), totals, period reach."""
    from safepassage.adapters.meta_insights import PLATFORM, MetaPerformanceReader

    reader = MetaPerformanceReader(
        api,
        account_id,
        {locale: lang.code for lang in config.languages for locale in lang.meta_locale_ids},
        organisation_urls(config),
        report_timeout_seconds=performance.report_timeout_seconds,
        poll_seconds=performance.report_poll_seconds,
        first_poll_seconds=performance.report_first_poll_seconds,
        retry_seconds=performance.retry_seconds,
        sleep=sleep,
        clock=clock,
    )
    loaded = _load_window(
        warehouse, reader, window, performance.overdelivery_factor.get(PLATFORM), reach=reader.period_reach
    )
    return PullResult(
        PLATFORM,
        reader.account_id,
        window,
        loaded.rows,
        loaded.signposting_rows,
        loaded.reach_rows,
        reader.requests,
        1,
        list(reader.splits),
    )
