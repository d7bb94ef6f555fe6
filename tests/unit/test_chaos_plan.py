"""The chaos suite's fault plan (`make chaos`, bench/chaos.py) offers every fault kind of both
emulators (whether each fired, and 500 in all, `make chaos` itself checks on the run), and its
end-state comparison tells platform numbering from real differences."""

from __future__ import annotations

import json
from types import SimpleNamespace

from bench.chaos import chaos_plan, differences, warehouse_state
from sqlalchemy import create_engine, text

from ad_emulators.faults import GOOGLE_KINDS, META_KINDS


def test_the_chaos_plan_covers_every_kind_on_each_platform() -> None:
    plan = chaos_plan()
    for platform, kinds in (("google_ads", GOOGLE_KINDS), ("meta", META_KINDS)):
        planned = {rule.kind for rule in plan.rules if rule.platform == platform}
        assert planned == set(kinds), platform


def _warehouse(rows: list[tuple[int, str, str]]) -> SimpleNamespace:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE push_plan (id INTEGER, status TEXT, operations TEXT)"))
        for row in rows:
            connection.execute(
                text("INSERT INTO push_plan VALUES (:i, :s, :o)"), dict(zip("iso", row, strict=True))
            )
    return SimpleNamespace(engine=engine)


def _operations(resource_name: str, amount: int) -> str:
    return json.dumps(
        [{"key": "SP|CZ|budget", "resource_name": resource_name, "fields": {"amount_micros": amount}}]
    )


def test_the_end_state_comparison_ignores_platform_numbering_but_not_content() -> None:
    # Live objects compare by the names their ids point to; an object a plan removed, by its collection.
    live = {"customers/555/campaignBudgets/1000633": "campaign_budget:SP|CZ|budget"}
    faulty_live = {"customers/555/campaignBudgets/1001263": "campaign_budget:SP|CZ|budget"}

    def state(labels: dict[str, str], resource_name: str, amount: int, removed: str) -> dict[str, list[str]]:
        return warehouse_state(
            _warehouse(
                [(1, "applied", _operations(resource_name, amount)), (2, "applied", _operations(removed, 0))]
            ),
            labels,
        )

    clean = state(
        live, "customers/555/campaignBudgets/1000633", 7_160_000, "customers/555/campaignCriteria/1~1000713"
    )
    same = state(
        faulty_live,
        "customers/555/campaignBudgets/1001263",
        7_160_000,
        "customers/555/campaignCriteria/1~1001343",
    )
    assert differences(clean, same) == {}
    other_amount = state(
        faulty_live,
        "customers/555/campaignBudgets/1001263",
        7_170_000,
        "customers/555/campaignCriteria/1~1001343",
    )
    assert differences(clean, other_amount)["push_plan"]["lost"] == 1
    unlabelled = state(
        {}, "customers/555/campaignBudgets/1001263", 7_160_000, "customers/555/campaignCriteria/1~1001343"
    )
    assert differences(clean, unlabelled)["push_plan"]["extra"] == 1  # a live object named by nothing differs
