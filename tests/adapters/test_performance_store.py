"""The performance loader on SQLite and the real PostgreSQL: window replacement and quality checks."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.domain.performance import (
    AccountTree,
    AdGroupRef,
    AdRef,
    CampaignRef,
    PulledRow,
    QualityCheckFailed,
    ReachRow,
    Window,
)

WINDOW = Window(dt.date(2022, 4, 1), dt.date(2022, 4, 3))


def _tree() -> AccountTree:
    tree = AccountTree("meta", "act_1", "EUR")
    tree.campaigns.append(CampaignRef("c1", "SP|meta|0"))
    tree.ad_groups.append(AdGroupRef("c1", "s1", "SP|PL|0", language_code="uk"))
    tree.ads.append(
        AdRef(
            "s1",
            "a1",
            final_url="https://strada.org.pl/",
            link_destination="organisation",
            organisation_id="la-strada-poland",
        )
    )
    tree.ads.append(AdRef("s1", "a2", final_url="https://apps.apple.com/x", link_destination="app"))
    return tree


def _rows(window: Window = WINDOW, clicks: int = 5, **change: int) -> Iterator[PulledRow]:
    for day in window.each_day():
        for ad in ("a1", "a2"):
            for device in ("mobile", "desktop"):
                values = {"impressions": 1000, "clicks": clicks, "cost_minor": 700, **change}
                yield PulledRow(day, ad, "PL", "uk", device, "facebook", **values)


def _totals(window: Window = WINDOW, clicks: int = 5) -> dict[dt.date, dict[str, int]]:
    return {day: {"impressions": 4000, "clicks": 4 * clicks, "cost_minor": 2800} for day in window.each_day()}


def test_replacing_a_window_keeps_other_days_and_derives_signposting(warehouse: Warehouse) -> None:
    warehouse.performance.replace_window(
        _tree(),
        Window(dt.date(2022, 3, 30), dt.date(2022, 4, 3)),
        _rows(Window(dt.date(2022, 3, 30), dt.date(2022, 4, 3))),
    )
    result = warehouse.performance.replace_window(
        _tree(),
        WINDOW,
        _rows(clicks=9),
        reach=[ReachRow("account", "act_1", "PL", 900, 12000)],
        platform_totals=_totals(clicks=9),
    )

    assert result.rows == 12 and result.signposting_rows == 6  # a1's rows only; a2 goes to the app store
    with warehouse.session() as session:
        clicks = dict(
            session.execute(
                select(m.DailyPerformance.date, func.sum(m.DailyPerformance.clicks)).group_by(
                    m.DailyPerformance.date
                )
            )
            .tuples()
            .all()
        )
        org = session.execute(
            select(m.DailySignposting.organisation_id, func.sum(m.DailySignposting.clicks)).group_by(
                m.DailySignposting.organisation_id
            )
        ).all()
        app = session.scalar(select(func.sum(m.DailyPerformance.app_download_clicks)))
    assert clicks[dt.date(2022, 3, 30)] == 20 and clicks[dt.date(2022, 4, 2)] == 36
    assert [tuple(r) for r in org] == [("la-strada-poland", 2 * 10 + 3 * 18)]
    assert app == 2 * 10 + 3 * 18


def test_a_duplicate_natural_key_fails_the_load_and_names_it(warehouse: Warehouse) -> None:
    warehouse.performance.replace_window(_tree(), WINDOW, _rows())
    before = warehouse.performance.window_checksum()
    doubled = [*_rows(), PulledRow(dt.date(2022, 4, 2), "a1", "PL", "uk", "mobile", "facebook", 1, 1, 1)]

    with pytest.raises(QualityCheckFailed, match="natural key not unique") as raised:
        warehouse.performance.replace_window(_tree(), WINDOW, doubled)

    assert "2022-04-02" in str(raised.value) and "mobile" in str(raised.value)
    assert warehouse.performance.window_checksum() == before  # nothing half-done


def test_negative_metrics_fail_the_load_and_name_the_row(warehouse: Warehouse) -> None:
    with pytest.raises(QualityCheckFailed, match="negative metric") as raised:
        warehouse.performance.replace_window(
            _tree(),
            WINDOW,
            [*_rows(), PulledRow(dt.date(2022, 4, 3), "a2", "PL", "uk", "tablet", "facebook", 10, -1, 5)],
        )
    assert "2022-04-03 ad a2 PL/uk/tablet/facebook: impressions=10 clicks=-1" in str(raised.value)
    with warehouse.session() as session:
        assert session.scalar(select(func.count()).select_from(m.DailyPerformance)) == 0


def test_totals_that_differ_from_the_platforms_fail_the_load(warehouse: Warehouse) -> None:
    totals = _totals()
    totals[dt.date(2022, 4, 2)]["cost_minor"] += 1  # the account says one cent more than the ad rows
    with pytest.raises(QualityCheckFailed, match="per-day totals") as raised:
        warehouse.performance.replace_window(_tree(), WINDOW, _rows(), platform_totals=totals)
    assert "2022-04-02 cost_minor: loaded 2800, platform reports 2801" in str(raised.value)


def test_spend_above_the_pushed_budget_beyond_overdelivery_fails_the_load(warehouse: Warehouse) -> None:
    # the pushed Meta budget for PL: 20.00 a day; Meta may overdeliver by 25% → at most 25.00
    warehouse.push.store_allocation(dt.date(2022, 3, 1), "h1", {}, "EUR", [("meta", "PL", 2000, 1.0)])
    warehouse.performance.replace_window(
        _tree(), WINDOW, _rows(cost_minor=620), overdelivery_factor=1.25
    )  # 24.80
    with pytest.raises(QualityCheckFailed, match="spend above the pushed daily budget") as raised:
        warehouse.performance.replace_window(
            _tree(), WINDOW, _rows(cost_minor=650), overdelivery_factor=1.25
        )  # 26.00
    assert "2022-04-01 PL: spent 2600 > 1.25× budget 2000" in str(raised.value)


def test_two_concurrent_loads_of_one_window_leave_one_copy(warehouse: Warehouse) -> None:
    warehouse.performance.replace_window(_tree(), WINDOW, _rows())
    expected = warehouse.performance.window_checksum()
    errors: list[BaseException] = []

    def load() -> None:
        other = Warehouse(warehouse.url)
        try:
            other.performance.replace_window(_tree(), WINDOW, _rows())
        except BaseException as error:
            errors.append(error)
        finally:
            other.dispose()

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert warehouse.performance.window_checksum() == expected


def test_a_re_pull_keeps_each_reach_row_in_place_and_drops_cells_no_longer_reported(
    warehouse: Warehouse,
) -> None:
    """Reach is replaced per window by natural key, not deleted and re-inserted: on PostgreSQL a
    delete-then-insert gave every row a new id on each re-pull (the idempotency suite caught it)."""

    def reach() -> dict[str, tuple[int, int]]:
        with warehouse.session() as session:
            rows = session.execute(select(m.PeriodReach.country_code, m.PeriodReach.id, m.PeriodReach.reach))
            return {country: (row_id, value) for country, row_id, value in rows}

    both = [ReachRow("account", "act_1", "PL", 900, 12000), ReachRow("account", "act_1", "ALL", 950, 12000)]
    warehouse.performance.replace_window(_tree(), WINDOW, _rows(), reach=both, platform_totals=_totals())
    first = reach()
    warehouse.performance.replace_window(_tree(), WINDOW, _rows(), reach=both, platform_totals=_totals())
    assert reach() == first

    revised = [ReachRow("account", "act_1", "PL", 910, 12000)]
    warehouse.performance.replace_window(_tree(), WINDOW, _rows(), reach=revised, platform_totals=_totals())
    assert reach() == {"PL": (first["PL"][0], 910)}
