"""The daily performance pull against the emulators (official SDKs) and the real warehouse."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from ad_emulators.faults import FaultPlan
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.domain.performance import PerformanceSettings, Window
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.performance import pull_google_ads, pull_meta
from tests.adapters.performance_fixtures import google_campaigns, meta_campaigns

START = dt.date(2022, 3, 25)
SETTINGS = PerformanceSettings(report_poll_seconds=0)


def _google(emulators: Any) -> str:
    return str(emulators.descriptor["google_ads"]["customer_ids"][0])


def stalled_account_report(account: str) -> dict[str, Any]:
    """A fault rule: the account-level insights job of the first report sticks (at 37%)."""
    return {
        "platform": "meta",
        "match": f"POST /{account}/insights",
        "kind": "async_report_stall",
        "nth": [1],
    }


def _meta(emulators: Any) -> str:
    return str(emulators.descriptor["meta"]["ad_account_ids"][0])


def _day_rows(
    warehouse: Warehouse, day: dt.date, platform: str
) -> dict[tuple[Any, ...], tuple[int, int, int]]:
    with warehouse.session() as session:
        rows = session.execute(
            select(
                m.DailyPerformance.ad_id,
                m.DailyPerformance.country_code,
                m.DailyPerformance.device,
                m.DailyPerformance.placement,
                m.DailyPerformance.impressions,
                m.DailyPerformance.clicks,
                m.DailyPerformance.cost_minor,
            ).where(m.DailyPerformance.date == day, m.DailyPerformance.platform_code == platform)
        ).all()
    return {tuple(r[:4]): tuple(r[4:]) for r in rows}


def test_google_pull_attributes_rows_and_a_rerun_changes_nothing(
    emulators: Any, google_ads_client: Any, warehouse: Warehouse
) -> None:
    customer = _google(emulators)
    google_campaigns(google_ads_client, customer)
    emulators.clock.set(dt.datetime(2022, 4, 10, tzinfo=dt.UTC))
    config = load_campaign_config()
    window = Window(START, dt.date(2022, 4, 9))

    first = pull_google_ads(warehouse, google_ads_client, customer, config, SETTINGS, window)
    before = warehouse.performance.window_checksum()
    again = pull_google_ads(warehouse, google_ads_client, customer, config, SETTINGS, window)

    assert first.rows > 0 and again.rows == first.rows
    assert warehouse.performance.window_checksum() == before
    assert first.requests == 5  # three entity reads, the stream, the account totals
    with warehouse.session() as session:
        by_country = dict(
            session.execute(
                select(m.DailyPerformance.country_code, func.sum(m.DailyPerformance.clicks)).group_by(
                    m.DailyPerformance.country_code
                )
            )
            .tuples()
            .all()
        )
        languages = set(session.scalars(select(m.DailyPerformance.language_code).distinct()))
        signposting = session.execute(
            select(m.DailySignposting.organisation_id, func.sum(m.DailySignposting.clicks)).group_by(
                m.DailySignposting.organisation_id
            )
        ).all()
        app = session.scalar(
            select(func.sum(m.DailyPerformance.app_download_clicks)).where(
                m.DailyPerformance.country_code == "RO"
            )
        )
        pl_clicks = session.scalar(
            select(func.sum(m.DailyPerformance.signposting_clicks)).where(
                m.DailyPerformance.country_code == "PL"
            )
        )
    assert set(by_country) == {"PL", "RO"}
    assert languages == {"uk", "ru"}
    assert dict(signposting) == {"la-strada-poland": by_country["PL"]}  # every PL click went to La Strada
    assert pl_clicks == by_country["PL"] and app == by_country["RO"]  # RO's ad links to the STOP APP


def test_meta_pull_splits_breakdowns_stores_period_reach_and_a_rerun_changes_nothing(
    emulators: Any, meta_api: Any, warehouse: Warehouse
) -> None:
    account = _meta(emulators)
    meta_campaigns(account)
    emulators.clock.set(dt.datetime(2022, 4, 5, tzinfo=dt.UTC))
    window = Window(START, dt.date(2022, 4, 4))
    config = load_campaign_config()

    first = pull_meta(warehouse, meta_api, account, config, SETTINGS, window)
    before = warehouse.performance.window_checksum()
    again = pull_meta(warehouse, meta_api, account, config, SETTINGS, window)

    assert first.rows > 0 and again.rows == first.rows and first.splits == []
    assert warehouse.performance.window_checksum() == before
    with warehouse.session() as session:
        placements = set(session.scalars(select(m.DailyPerformance.placement).distinct()))
        devices = set(session.scalars(select(m.DailyPerformance.device).distinct()))
        reach = {
            r.country_code: (r.reach, r.impressions)
            for r in session.scalars(select(m.PeriodReach).where(m.PeriodReach.window_end == window.end))
        }
        impressions = dict(
            session.execute(
                select(m.DailyPerformance.country_code, func.sum(m.DailyPerformance.impressions)).group_by(
                    m.DailyPerformance.country_code
                )
            )
            .tuples()
            .all()
        )
    assert {"facebook", "instagram"} <= placements
    assert devices <= {"mobile", "desktop"} and "mobile" in devices
    assert set(reach) == {"PL", "RO", "ALL"}
    for country in ("PL", "RO"):
        assert reach[country][1] == impressions[country]  # the same delivery, seen whole
        assert 0 < reach[country][0] < impressions[country]  # unique people, not a sum of days
    assert reach["ALL"][0] <= reach["PL"][0] + reach["RO"][0]


def test_a_stalled_meta_report_is_split_and_completes(
    emulators: Any, meta_api: Any, warehouse: Warehouse
) -> None:
    account = _meta(emulators)
    meta_campaigns(account, campaigns=2)
    emulators.clock.set(dt.datetime(2022, 4, 5, tzinfo=dt.UTC))
    window = Window(START, dt.date(2022, 4, 4))
    config = load_campaign_config()
    expected = pull_meta(warehouse, meta_api, account, config, SETTINGS, window)
    expected_sum = warehouse.performance.window_checksum()
    with warehouse.session() as session:  # start from nothing, so the split pull must write it all
        session.query(m.DailySignposting).delete()
        session.query(m.DailyPerformance).delete()
        session.query(m.PeriodReach).delete()
    # the account-level job sticks at 37%; the first campaign's job fails; everything else completes
    emulators.faults = FaultPlan.from_dict(
        {
            "faults": [
                stalled_account_report(account),
                {"platform": "meta", "match": "POST /*/insights", "kind": "async_report_fail", "nth": [2]},
            ]
        }
    )
    ticks = iter(range(0, 10_000, 60))  # every poll a minute later: the 300 s deadline passes after 5
    split = pull_meta(
        warehouse,
        meta_api,
        account,
        config,
        SETTINGS,
        window,
        sleep=lambda _s: None,
        clock=lambda: next(ticks),
    )

    assert split.rows == expected.rows
    assert warehouse.performance.window_checksum() == expected_sum  # nothing lost, nothing doubled
    assert split.splits[0].startswith(f"account {account}: was still Job Running at 37%")
    assert any(s.startswith("campaign") and "Job Failed" in s for s in split.splits)
    assert len(emulators.log.entries(platform="meta", fault="async_report_stall")) == 1


def test_a_meta_report_is_polled_soon_then_less_often(
    emulators: Any, meta_api: Any, warehouse: Warehouse
) -> None:
    """The shipped config: half a second before the second poll, doubling up to report_poll_seconds,
    so a report the platform finishes in a few polls is read in seconds, not polls × 5 s."""
    from safepassage.services.performance import load_performance_settings

    account = _meta(emulators)
    meta_campaigns(account)
    emulators.clock.set(dt.datetime(2022, 4, 5, tzinfo=dt.UTC))
    shipped = load_performance_settings()
    slept: list[float] = []

    def pull(**clock: Any) -> None:
        window = Window(START, dt.date(2022, 4, 4))
        pull_meta(
            warehouse, meta_api, account, load_campaign_config(), shipped, window, sleep=slept.append, **clock
        )

    pull()

    waits_per_report = emulators.meta.polls_to_complete - 1  # the emulator finishes on the 4th poll
    assert slept[:waits_per_report] == [0.5, 1.0, 2.0]
    assert shipped.report_first_poll_seconds == 0.5 and shipped.report_poll_seconds == 5

    # A report that takes long (here: it stalls until the deadline) is polled every 5 s at most.
    emulators.faults = FaultPlan.from_dict({"faults": [stalled_account_report(account)]})
    slept.clear()
    ticks = iter(range(0, 10_000, 10))  # every clock reading 10 s later: the 300 s deadline passes
    pull(clock=lambda: next(ticks))
    assert slept[:7] == [0.5, 1.0, 2.0, 4.0, 5, 5, 5]


def test_late_data_inside_the_lookback_is_picked_up(
    emulators: Any, google_ads_client: Any, warehouse: Warehouse
) -> None:
    customer = _google(emulators)
    google_campaigns(google_ads_client, customer)
    config = load_campaign_config()
    day = dt.date(2022, 4, 9)
    emulators.clock.set(dt.datetime(2022, 4, 9, 12, tzinfo=dt.UTC))  # the day is half over
    pull_google_ads(
        warehouse, google_ads_client, customer, config, SETTINGS, Window(dt.date(2022, 3, 27), day)
    )
    early = _day_rows(warehouse, day, "google_ads")

    emulators.clock.set(
        dt.datetime(2022, 4, 12, 6, tzinfo=dt.UTC)
    )  # three days later the platform revised it
    pull_google_ads(
        warehouse,
        google_ads_client,
        customer,
        config,
        SETTINGS,
        Window(dt.date(2022, 3, 30), dt.date(2022, 4, 11)),
    )
    late = _day_rows(warehouse, day, "google_ads")

    assert set(early) == set(late)
    assert sum(v[0] for v in late.values()) > sum(v[0] for v in early.values())  # the whole day now
    with warehouse.session() as session:  # days before the second window were kept, not dropped
        kept = session.scalar(select(func.count()).where(m.DailyPerformance.date < dt.date(2022, 3, 30)))
    assert kept and kept > 0


def test_google_faults_are_survived_with_nothing_lost_or_doubled(
    emulators: Any, google_ads_client: Any, warehouse: Warehouse
) -> None:
    customer = _google(emulators)
    google_campaigns(google_ads_client, customer)
    emulators.clock.set(dt.datetime(2022, 4, 10, tzinfo=dt.UTC))
    config = load_campaign_config()
    window = Window(START, dt.date(2022, 4, 9))
    clean = pull_google_ads(warehouse, google_ads_client, customer, config, SETTINGS, window)
    expected = warehouse.performance.window_checksum()
    emulators.faults = FaultPlan.from_dict(
        {
            "faults": [
                # the 4th call (account totals) runs out of quota; in the retry, the 5th of that
                # attempt — the row stream, inside the load transaction — breaks off
                {
                    "platform": "google_ads",
                    "match": "*GoogleAdsService/SearchStream",
                    "kind": "resource_exhausted",
                    "nth": [4],
                },
                {
                    "platform": "google_ads",
                    "match": "*GoogleAdsService/SearchStream",
                    "kind": "transient",
                    "nth": [9],
                },
            ]
        }
    )
    waits: list[float] = []
    faulted = pull_google_ads(
        warehouse, google_ads_client, customer, config, SETTINGS, window, sleep=waits.append
    )

    assert faulted.rows == clean.rows and faulted.attempts == 3
    assert warehouse.performance.window_checksum() == expected
    assert waits[0] == 1.0  # the server's retry delay, from QuotaErrorDetails
    faults = emulators.log.entries(platform="google_ads", outcome="fault")
    assert [f.fault for f in faults] == ["resource_exhausted", "transient"]
    assert "FROM ad_group_ad WHERE segments.date" in str(faults[1].extra)  # it broke the row stream


def test_meta_throttling_and_server_errors_are_survived(
    emulators: Any, meta_api: Any, warehouse: Warehouse
) -> None:
    account = _meta(emulators)
    meta_campaigns(account)
    emulators.clock.set(dt.datetime(2022, 4, 5, tzinfo=dt.UTC))
    window = Window(START, dt.date(2022, 4, 4))
    config = load_campaign_config()
    pull_meta(warehouse, meta_api, account, config, SETTINGS, window)
    expected = warehouse.performance.window_checksum()
    emulators.faults = FaultPlan.from_dict(
        {
            "faults": [
                {
                    "platform": "meta",
                    "match": "GET /*/insights",
                    "kind": "user_rate_limit",
                    "nth": [2],
                    "params": {"estimated_time_to_regain_access": 3},
                },
                {"platform": "meta", "match": "GET /*/insights", "kind": "server_error", "nth": [4]},
                {
                    "platform": "meta",
                    "match": f"GET /{account}/ads",
                    "kind": "account_rate_limit",
                    "nth": [1],
                },
            ]
        }
    )
    waits: list[float] = []
    again = pull_meta(warehouse, meta_api, account, config, SETTINGS, window, sleep=waits.append)

    assert warehouse.performance.window_checksum() == expected and again.rows > 0
    assert 180.0 in waits  # three minutes, as X-Business-Use-Case-Usage said
    assert len(emulators.log.entries(platform="meta", outcome="fault")) == 3


def test_meta_reads_whose_response_is_lost_are_sent_again(
    emulators: Any, meta_api: Any, warehouse: Warehouse
) -> None:
    """A dropped connection on a read (the chaos suite's `response_lost_after_commit` on GETs) is a
    transient failure like a 500: the pull retries the call instead of failing the whole task."""
    account = _meta(emulators)
    meta_campaigns(account)
    emulators.clock.set(dt.datetime(2022, 4, 5, tzinfo=dt.UTC))
    window = Window(START, dt.date(2022, 4, 4))
    config = load_campaign_config()
    pull_meta(warehouse, meta_api, account, config, SETTINGS, window)
    expected = warehouse.performance.window_checksum()
    emulators.faults = FaultPlan.from_dict(
        {
            "faults": [
                {
                    "platform": "meta",
                    "match": "GET /*/insights",
                    "kind": "response_lost_after_commit",
                    "nth": [1, 3],
                },
                {
                    "platform": "meta",
                    "match": f"GET /{account}/ads",
                    "kind": "response_lost_after_commit",
                    "nth": [1],
                },
            ]
        }
    )
    waits: list[float] = []
    quick = SETTINGS.model_copy(update={"retry_seconds": 0.25})  # config/performance.yaml retry_seconds
    again = pull_meta(warehouse, meta_api, account, config, quick, window, sleep=waits.append)

    assert warehouse.performance.window_checksum() == expected and again.rows > 0
    assert len(emulators.log.entries(platform="meta", fault="response_lost_after_commit")) == 3
    # each lost answer: one back-off, then the call sent again (the zero waits are report polls)
    assert [w for w in waits if w] == [0.25] * 3
