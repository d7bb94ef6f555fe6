"""The delivery simulation both emulators report from (a simulation, not platform data)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from ad_emulators import simulation
from ad_emulators.simulation import ServingUnit, Targeting, UnitState
from safepassage.services.campaign_config import load_campaign_config

UTC = dt.UTC
MARCH_25 = dt.datetime(2022, 3, 25, 9, tzinfo=UTC)
ORGS = {
    "la-strada-poland": "https://strada.org.pl/",
    "unhcr-help-poland": "https://help.unhcr.org/poland/",
    "unhcr-help-ukraine": "https://help.unhcr.org/ukraine/",
    "stop-the-traffik": "https://www.stopthetraffik.org/stop-app/",
}


def unit(
    ad_id: str = "ad-1",
    *,
    budget_id: str = "pool-1",
    countries: tuple[str, ...] = ("PL",),
    languages: tuple[str, ...] = ("uk", "ru"),
    budget: int = 5000,
    history: tuple[UnitState, ...] | None = None,
    url: str = "https://strada.org.pl/?utm_content=la-strada-poland",
    platform: str = "meta",
    devices: tuple[str, ...] = (),
    creative_language: str | None = None,
) -> ServingUnit:
    targeting = Targeting(countries=countries, languages=languages, devices=devices)
    return ServingUnit(
        platform=platform,
        ad_id=ad_id,
        budget_id=budget_id,
        final_url=url,
        history=history or (UnitState(MARCH_25, True, budget, targeting),),
        creative_text=f"creative of {ad_id}",
        creative_language=creative_language,
        campaign_id="campaign-1",
        group_id=budget_id,
    )


def rows(units: list[ServingUnit], start: str, end: str, **kwargs: object) -> list[simulation.DailyRow]:
    return simulation.daily_rows(
        units,
        dt.date.fromisoformat(start),
        dt.date.fromisoformat(end),
        organisations=ORGS,
        **kwargs,  # type: ignore[arg-type]
    )


def test_deterministic_for_a_seed() -> None:
    units = [unit()]
    assert rows(units, "2022-03-25", "2022-04-10", seed=3) == rows(units, "2022-03-25", "2022-04-10", seed=3)
    assert rows(units, "2022-03-25", "2022-04-10", seed=3) != rows(units, "2022-03-25", "2022-04-10", seed=4)


def test_a_day_does_not_depend_on_the_range_asked_for() -> None:
    units = [unit(), unit("ad-2", countries=("UA",), budget_id="pool-2")]
    long = rows(units, "2022-03-20", "2022-05-31")
    short = rows(units, "2022-04-01", "2022-04-07")
    assert [row for row in long if dt.date(2022, 4, 1) <= row.date <= dt.date(2022, 4, 7)] == short
    assert min(row.date for row in long) == dt.date(2022, 3, 25)  # nothing before the ad existed


def test_spend_never_exceeds_the_budget_of_a_shared_pool_even_when_it_changes() -> None:
    poland = Targeting(("PL",), ("uk", "ru", "pl", "en"))
    history = (
        UnitState(MARCH_25, True, 20000, poland),
        UnitState(dt.datetime(2022, 4, 10, 15, tzinfo=UTC), True, 3000, poland),
        UnitState(dt.datetime(2022, 4, 20, tzinfo=UTC), True, 90000, poland),
    )
    units = [
        unit("ad-1", history=history),
        unit("ad-2", history=history, url="https://help.unhcr.org/poland/"),
    ]
    spend: dict[dt.date, int] = defaultdict(int)
    for row in rows(units, "2022-03-25", "2022-05-10"):
        spend[row.date] += row.spend_minor
    for day, total in spend.items():
        in_force = [state.daily_budget_minor for state in history if state.since.date() <= day]
        assert total <= max(in_force), day
    assert spend[dt.date(2022, 4, 15)] <= 3000
    assert spend[dt.date(2022, 4, 15)] > 2500  # a small budget is spent almost fully


def test_a_targeting_change_mid_day_serves_both_and_keeps_one_row_per_key() -> None:
    before, after = Targeting(("PL",), ("uk", "ru")), Targeting(("PL", "UA"), ("uk",))
    history = (
        UnitState(MARCH_25, True, 9000, before),
        UnitState(dt.datetime(2022, 4, 10, 18, tzinfo=UTC), True, 9000, after),
    )
    result = rows([unit(history=history)], "2022-04-09", "2022-04-11")
    keys = [(row.date, row.ad_id, row.country, row.language, row.device) for row in result]
    assert len(keys) == len(set(keys))  # the natural key of a daily row is unique
    served = {
        day: {(row.country, row.language) for row in result if row.date == day}
        for day in {r.date for r in result}
    }
    assert served[dt.date(2022, 4, 9)] == {("PL", "uk"), ("PL", "ru")}
    assert served[dt.date(2022, 4, 10)] == {("PL", "uk"), ("PL", "ru"), ("UA", "uk")}
    assert served[dt.date(2022, 4, 11)] == {("PL", "uk"), ("UA", "uk")}


def test_no_delivery_while_paused_or_after_the_simulated_now() -> None:
    targeting = Targeting(("PL",), ("uk",))
    history = (
        UnitState(MARCH_25, True, 5000, targeting),
        UnitState(dt.datetime(2022, 4, 1, tzinfo=UTC), False, 5000, targeting),
        UnitState(dt.datetime(2022, 4, 5, tzinfo=UTC), True, 5000, targeting),
    )
    as_of = dt.datetime(2022, 4, 8, 12, tzinfo=UTC)
    result = rows([unit(history=history)], "2022-03-25", "2022-04-30", as_of=as_of)
    days = {row.date for row in result}
    assert not days & {dt.date(2022, 4, day) for day in range(1, 5)}
    assert max(days) == dt.date(2022, 4, 8)
    spend_on = defaultdict(int)
    for row in result:
        spend_on[row.date] += row.spend_minor
    assert spend_on[dt.date(2022, 4, 8)] < spend_on[dt.date(2022, 4, 7)] * 0.7  # half a day so far


@pytest.mark.parametrize("breakdown", [(), ("country",), ("ad",), ("country", "device")])
@pytest.mark.parametrize(("start", "end"), [("2022-03-25", "2022-04-30"), ("2022-04-03", "2022-04-09")])
def test_period_reach_is_between_the_largest_day_and_the_sum_of_days(
    breakdown: tuple[str, ...], start: str, end: str
) -> None:
    units = [unit(), unit("ad-2", countries=("UA", "MD"), budget_id="pool-2", budget=8000)]
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    period = simulation.reach(units, first, last, breakdown=breakdown)
    days = [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
    daily = [simulation.reach(units, day, day, breakdown=breakdown) for day in days]
    impressions = defaultdict(int)
    for row in simulation.daily_rows(units, first, last):
        impressions[row.key(breakdown)] += row.impressions
    assert period
    for key, value in period.items():
        per_day = [day.get(key, 0) for day in daily]
        assert max(per_day) <= value <= sum(per_day)
        assert value < impressions[key]
    if len(days) > 7:
        assert sum(period.values()) < 0.8 * sum(sum(day.values()) for day in daily)  # people come back


def test_device_split_is_mostly_mobile_and_follows_device_targeting() -> None:
    summary = simulation.summarise(rows([unit()], "2022-03-25", "2022-05-25"))
    assert 0.87 < summary["mobile_share"] < 0.96
    desktop_only = rows([unit(devices=("desktop",))], "2022-03-25", "2022-04-05")
    assert {row.device for row in desktop_only} == {"desktop"}


def test_more_budget_buys_more_and_cheap_countries_buy_more_impressions() -> None:
    def impressions(**kwargs: object) -> int:
        return simulation.summarise(rows([unit(**kwargs)], "2022-04-01", "2022-04-30"))["impressions"]  # type: ignore[arg-type]

    assert impressions(budget=10000) > 1.8 * impressions(budget=5000)
    assert impressions(countries=("UA",)) > 2 * impressions(countries=("DE",))


def test_creative_in_another_language_gets_fewer_clicks() -> None:
    matching = simulation.summarise(
        rows([unit(languages=("uk",), creative_language="uk")], "2022-04-01", "2022-04-30")
    )
    foreign = simulation.summarise(
        rows([unit(languages=("uk",), creative_language="de")], "2022-04-01", "2022-04-30")
    )
    assert foreign["clicks"] < 0.5 * matching["clicks"]


@pytest.mark.parametrize(
    ("url", "organisation", "app"),
    [
        ("https://strada.org.pl/?utm_content=la-strada-poland", "la-strada-poland", False),
        ("https://example.org/landing?org=unhcr-help-ukraine", "unhcr-help-ukraine", False),
        ("https://help.unhcr.org/poland/temporary-protection/", "unhcr-help-poland", False),
        ("https://www.stopthetraffik.org/stop-app/?utm_source=meta", "stop-the-traffik", True),
        ("https://apps.apple.com/app/stop-app/id1", None, True),
        ("https://unknown.example/", None, False),
        # the id the ad's link carries is taken from the request, known to the emulator or not
        ("https://unknown.example/help?sp_org=new-helpline&utm_content=v1", "new-helpline", False),
    ],
)
def test_links_are_credited_to_the_right_organisation(url: str, organisation: str | None, app: bool) -> None:
    target = simulation.resolve_link(url, ORGS, simulation.load_parameters())
    assert (target.organisation, target.is_app_link) == (organisation, app)


def test_conversions_go_to_the_linked_organisation_and_app_links_count_downloads() -> None:
    units = [
        unit("signpost", countries=("UA",), url="https://help.unhcr.org/ukraine/", budget=50000),
        unit(
            "app",
            budget_id="pool-2",
            countries=("UA",),
            url="https://www.stopthetraffik.org/stop-app/",
            budget=50000,
        ),
    ]
    result = rows(units, "2022-03-25", "2022-06-30")
    by_ad = {ad: simulation.summarise(row for row in result if row.ad_id == ad) for ad in ("signpost", "app")}
    assert set(by_ad["signpost"]["signposted_by_organisation"]) == {"unhcr-help-ukraine"}
    assert by_ad["signpost"]["signposted"] > 0 and by_ad["signpost"]["app_download_clicks"] == 0
    assert by_ad["app"]["app_download_clicks"] > 0 and by_ad["app"]["signposted"] == 0


def test_conversions_arrive_late_and_are_final_after_28_days() -> None:
    units = [unit(countries=("UA",), url="https://help.unhcr.org/ukraine/", budget=200000)]
    day = "2022-04-01"

    def figures(as_of: dt.datetime) -> tuple[int, int]:
        summary = simulation.summarise(rows(units, day, day, as_of=as_of))
        return summary["impressions"], summary["signposted"]

    next_day, week, month = (
        dt.datetime(2022, 4, 2, tzinfo=UTC) + dt.timedelta(days=days) for days in (0, 7, 29)
    )
    (impressions_1, early), (impressions_2, later), (impressions_3, final) = map(
        figures, (next_day, week, month)
    )
    assert impressions_1 == impressions_2 == impressions_3  # delivery itself is final at once
    assert early <= later <= final
    assert early < final
    assert final == simulation.summarise(rows(units, day, day))["signposted"]


def test_both_platforms_have_their_own_delivery() -> None:
    google = simulation.summarise(rows([unit(platform="google_ads")], "2022-04-01", "2022-04-30"))
    meta = simulation.summarise(rows([unit(platform="meta")], "2022-04-01", "2022-04-30"))
    assert google["impressions"] != meta["impressions"]
    assert google["mobile_share"] < meta["mobile_share"]


def brief_like_campaign() -> list[ServingUnit]:
    """19 countries, one ad per served language signposting to a local organisation, plus a STOP APP ad;
    25 March - 31 October 2022, ~20% of each country's budget cap per day (~600 EUR/day in total)."""
    config = load_campaign_config()
    units = []
    for country in config.countries:
        local = [org for org in config.organisations_for(country.code) if org.id != "stop-the-traffik"]
        daily_minor = int(config.budget.country_cap(country.code) * Decimal("0.2") * 100)
        pool = f"adset-{country.code}"
        for index, language in enumerate(country.languages):
            org = local[index % len(local)]
            units.append(
                ServingUnit(
                    platform="meta" if index % 2 == 0 else "google_ads",
                    ad_id=f"{country.code}-{language}",
                    budget_id=f"{pool}-{index % 2}",
                    final_url=f"{org.url}?sp_org={org.id}",  # as the creatives build links
                    history=(
                        UnitState(MARCH_25, True, daily_minor // 2, Targeting((country.code,), (language,))),
                    ),
                    creative_text=f"{country.code} {language} safety message",
                    creative_language=language,
                )
            )
        units.append(
            ServingUnit(
                platform="meta",
                ad_id=f"{country.code}-stop-app",
                budget_id=f"{pool}-0",
                final_url="https://www.stopthetraffik.org/stop-app/?sp_org=stop-the-traffik",
                history=(
                    UnitState(MARCH_25, True, daily_minor // 2, Targeting((country.code,), ("uk", "ru"))),
                ),
                creative_text=f"{country.code} STOP APP",
            )
        )
    return units


def test_calibration_brief_like_campaign_reaches_millions() -> None:
    units = brief_like_campaign()
    start, end = dt.date(2022, 3, 25), dt.date(2022, 10, 31)
    result = simulation.daily_rows(units, start, end, seed=2022)
    summary = simulation.summarise(result)
    reached = simulation.reach(units, start, end, rows=result)[()]
    by_country = simulation.reach(units, start, end, breakdown=("country",), rows=result)
    spend_eur = summary["spend_minor"]["EUR"] / 100
    days = (end - start).days + 1
    mobile, mobile_clicks = summary["mobile_share"], summary["mobile_click_share"]
    print(
        f"\nSIMULATED brief-like campaign {start}..{end} ({len(units)} ads, 19 countries): "
        f"spend {spend_eur:,.0f} EUR ({spend_eur / days:,.0f}/day), impressions {summary['impressions']:,}, "
        f"reach {reached:,}, clicks {summary['clicks']:,}, "
        f"mobile {mobile:.1%} of impressions / {mobile_clicks:.1%} of clicks, "
        f"signposted {summary['signposted']}, app-download clicks {summary['app_download_clicks']}"
    )
    print("reach by country:", {key[0]: value for key, value in by_country.items()})
    assert len(by_country) == 19
    assert 200 <= spend_eur / days <= 1500
    assert 4_000_000 <= reached <= 40_000_000
    assert 0.85 <= summary["mobile_share"] <= 0.95
    assert 30 <= summary["app_download_clicks"] <= 300
    assert 30 <= summary["signposted"] <= 300
    assert summary["note"].startswith("Simulated")


def test_the_same_objects_under_other_ids_deliver_the_same_when_keyed_by_name() -> None:
    # Meta numbers objects in creation order: a retried push can give the same ad another id.
    def named(ad_id: str, budget_id: str, keyed: bool = True) -> ServingUnit:
        base = dataclasses.replace(unit(ad_id, budget_id=budget_id), creative_text="creative")
        return dataclasses.replace(base, ad_key="SP|PL|uk/ad", budget_key="SP|PL|uk") if keyed else base

    def delivered(units: list[ServingUnit]) -> list[tuple[object, ...]]:
        return [
            (r.date, r.country, r.language, r.device, r.impressions, r.clicks, r.spend_minor)
            for r in rows(units, "2022-03-25", "2022-04-07")
        ]

    first = delivered([named("120210000000000074", "120210000000000070")])
    assert first and first == delivered([named("120210000000000107", "120210000000000101")])
    unkeyed = delivered([named("120210000000000107", "120210000000000101", keyed=False)])
    assert unkeyed != first  # without the names the ids decide the draws


def test_the_same_question_again_is_answered_from_the_cache_with_the_same_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A report's rows, its daily totals and its reach ask for the same window: simulated once. A
    changed unit (a budget edit makes a new history) is a new question."""
    simulated: list[int] = []
    original = simulation._daily_rows
    monkeypatch.setattr(simulation, "_daily_rows", lambda *args: (simulated.append(1), original(*args))[1])
    monkeypatch.setattr(simulation, "_ROWS_CACHE", type(simulation._ROWS_CACHE)())
    units = [unit("ad-1"), unit("ad-2", budget_id="pool-2", countries=("UA",))]
    first = rows(units, "2022-03-25", "2022-04-10")
    again = rows(list(units), "2022-03-25", "2022-04-10")
    assert again == first and again is not first and len(simulated) == 1
    edited = [unit("ad-1", budget=9000), units[1]]
    assert rows(edited, "2022-03-25", "2022-04-10") != first and len(simulated) == 2
