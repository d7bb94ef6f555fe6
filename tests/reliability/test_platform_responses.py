"""Malformed Meta insight replies (missing fields, wrong types, impossible values) stop the pull with
a MetaPullError naming the account and the field, without the request or its token, and the
replacing load that was streaming them rolls back: the warehouse keeps what it held.

(Google's replies arrive as typed protobuf messages, which the SDK refuses to build with wrong
types, so only Meta's JSON is fed garbage here.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from safepassage.adapters.meta_insights import MetaPerformanceReader, MetaPullError
from safepassage.adapters.warehouse import Warehouse
from safepassage.domain.performance import AccountTree, AdGroupRef, AdRef, CampaignRef, Window

TOKEN = "EAAB-fake-token-that-must-never-appear"
DAY = dt.date(2022, 4, 1)
GOOD = {
    "ad_id": "ad-1",
    "date_start": DAY.isoformat(),
    "country": "pl",
    "device_platform": "mobile_app",
    "publisher_platform": "facebook",
    "impressions": "1000",
    "clicks": "30",
    "inline_link_clicks": "25",
    "spend": "12.34",
}

MALFORMED: dict[str, tuple[dict[str, Any], str]] = {
    "no ad id": ({k: v for k, v in GOOD.items() if k != "ad_id"}, "no 'ad_id'"),
    "no date": ({k: v for k, v in GOOD.items() if k != "date_start"}, "no 'date_start'"),
    "clicks as words": ({**GOOD, "clicks": "thirty"}, "field 'clicks'"),
    "impressions as an object": ({**GOOD, "impressions": {"value": 1}}, "field 'impressions'"),
    "negative impressions": ({**GOOD, "impressions": "-5"}, "field 'impressions'"),
    "fractional clicks": ({**GOOD, "clicks": "2.5"}, "field 'clicks'"),
    "absurd count": ({**GOOD, "impressions": "9" * 40}, "field 'impressions'"),
    "spend NaN": ({**GOOD, "spend": "NaN"}, "field 'spend'"),
    "spend infinite": ({**GOOD, "spend": "Infinity"}, "field 'spend'"),
    "spend negative": ({**GOOD, "spend": "-1.00"}, "field 'spend'"),
    "spend as a list": ({**GOOD, "spend": [1, 2]}, "field 'spend'"),
    "impossible date": ({**GOOD, "date_start": "2022-02-30"}, "field 'date_start'"),
    "date as a number": ({**GOOD, "date_start": 20220401}, "field 'date_start'"),
    "huge text": ({**GOOD, "clicks": "x" * 100_000}, "field 'clicks'"),
}


def reader() -> MetaPerformanceReader:
    return MetaPerformanceReader({"access_token": TOKEN}, "100000000000001", {}, {})


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_insights_row_is_refused_naming_the_field(name: str) -> None:
    payload, words = MALFORMED[name]
    with pytest.raises(MetaPullError) as caught:
        reader()._row(payload)
    message = str(caught.value)
    assert message.startswith("act_100000000000001 report row: ") and words in message, message
    assert TOKEN not in message and len(message) < 300, message


def test_a_well_formed_row_still_parses_exactly() -> None:
    row = reader()._row(GOOD)
    assert (row.date, row.impressions, row.clicks, row.link_clicks, row.cost_minor) == (
        DAY,
        1000,
        30,
        25,
        1234,
    )
    assert reader()._row({**GOOD, "clicks": 30, "spend": 0}).clicks == 30  # numbers as JSON numbers too


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    with warehouse.engine.connect() as connection:
        return {
            table: sorted(map(tuple, connection.execute(sa.text(f"SELECT * FROM {table}")).all()), key=repr)
            for table in sa.inspect(connection).get_table_names()
        }


def test_a_malformed_row_mid_stream_leaves_the_warehouse_as_it_was(warehouse: Warehouse) -> None:
    tree = AccountTree(
        "meta",
        "act_100000000000001",
        "EUR",
        "SafePassage Europe",
        [CampaignRef("c-1", "SP PL", "ACTIVE", "PL")],
        [AdGroupRef("c-1", "as-1", "SP PL uk", "ACTIVE", "uk")],
        [AdRef("as-1", "ad-1", "ad", "ACTIVE")],
    )
    window = Window(DAY, DAY)
    meta = reader()
    meta._ads["ad-1"] = ("as-1", "uk")  # what read_tree() learns from the ad set's locales
    warehouse.performance.replace_window(tree, window, [meta._row(GOOD)])
    before = snapshot(warehouse)
    assert any(before.values())

    def stream() -> Iterator[Any]:  # a first good row, then the reply turns to garbage
        yield meta._row({**GOOD, "device_platform": "desktop", "clicks": "7"})
        yield meta._row(MALFORMED["spend NaN"][0])

    with pytest.raises(MetaPullError):
        warehouse.performance.replace_window(tree, window, stream())
    assert snapshot(warehouse) == before
