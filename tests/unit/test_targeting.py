"""Targeting derivation, platform policy, the policy guard, weights and the review diff."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safepassage.domain.campaign import CampaignConfig, Platform
from safepassage.domain.intelligence import (
    COUNTRY_BOUNDS,
    Confidence,
    FigureBasis,
    HotspotKind,
    KeyJudgement,
    RiskLevel,
    RiskTheme,
)
from safepassage.domain.targeting import (
    GOOGLE_ADULT_AGE_RANGES,
    PlatformTargeting,
    derive_targeting,
    diff_targeting,
    guard_violations,
    render_diff,
)
from safepassage.services.campaign_config import load_campaign_config
from tests.tiers import examples

BEFORE_EU_RULE = dt.date(2022, 4, 1)
AFTER_EU_RULE = dt.date(2025, 10, 6)


@pytest.fixture(scope="module")
def config() -> CampaignConfig:
    return load_campaign_config()


def judgement(countries: dict, confidence: str = "high", **overrides) -> KeyJudgement:
    data = {
        "id": "kj-2022-03-25-unit",
        "title": "Unit test judgement",
        "issued": "2022-03-25",
        "valid_from": "2022-03-25",
        "valid_until": "2022-04-21",
        "analyst": "Intelligence team",
        "confidence": confidence,
        "summary": "Written for the unit tests.",
        "sources": [{"id": "s", "title": "Source", "url": "https://example.org/"}],
        "countries": countries,
        **overrides,
    }
    return KeyJudgement.model_validate(data)


def assessment(risk="very_high", people=1_000_000, hotspots=(), languages=("uk", "ru"), hints=()) -> dict:
    return {
        "risk_level": risk,
        "people_on_the_move": {"value": people, "basis": "illustrative"},
        "hotspots": list(hotspots),
        "languages": list(languages),
        "risk_themes": ["transport_offers"],
        "audience_hints": list(hints),
    }


MEDYKA = {"name": "Medyka", "kind": "border_crossing", "lat": 49.8036, "lon": 22.9428, "radius_km": 10}


def entry(targeting, country: str, platform: Platform):
    (found,) = [c for c in targeting.countries if c.code == country]
    (result,) = [p for p in found.platforms if p.platform == platform]
    return found, result


def test_hotspots_become_proximity_and_custom_locations(config):
    targeting = derive_targeting(config, judgement({"PL": assessment(hotspots=[MEDYKA])}), BEFORE_EU_RULE)
    country, google = entry(targeting, "PL", Platform.GOOGLE_ADS)
    _, meta = entry(targeting, "PL", Platform.META)
    assert country.basis == "judgement"
    assert google.status == meta.status == "targeted"
    assert google.geo == {
        "location_ids": [],
        "proximities": [
            {"name": "Medyka", "lat": 49.8036, "lon": 22.9428, "radius": 10.0, "radius_units": "KILOMETERS"}
        ],
    }
    assert meta.geo["custom_locations"] == [
        {
            "name": "Medyka",
            "latitude": 49.8036,
            "longitude": 22.9428,
            "radius": 10.0,
            "distance_unit": "kilometer",
        }
    ]
    assert "countries" not in meta.geo
    assert google.languages == {"language_ids": [1036, 1031]}  # Ukrainian, Russian
    assert meta.languages == {"locales": [17, 52]}
    assert google.age == {"age_ranges": list(GOOGLE_ADULT_AGE_RANGES)}
    assert meta.age == {"age_min": 18, "age_max": 65}
    assert google.devices["bid_modifiers"]["MOBILE"] > google.devices["bid_modifiers"]["DESKTOP"]
    assert meta.devices == {"device_platforms": ["mobile", "desktop"]}


def test_countries_without_an_entry_get_baseline(config):
    targeting = derive_targeting(config, judgement({"PL": assessment()}), BEFORE_EU_RULE)
    assert [c.code for c in targeting.countries] == [c.code for c in config.countries]
    germany, google = entry(targeting, "DE", Platform.GOOGLE_ADS)
    poland = next(c for c in targeting.countries if c.code == "PL")
    assert germany.basis == "baseline" and germany.hotspots == ()
    assert google.geo == {"location_ids": [2276], "proximities": []}
    assert germany.language_codes == ("uk", "ru", "de", "en")
    assert 0 < germany.weight < poland.weight / 10


def test_no_judgement_means_baseline_everywhere_with_equal_weights(config):
    targeting = derive_targeting(config, None, BEFORE_EU_RULE)
    assert {c.basis for c in targeting.countries} == {"baseline"}
    assert math.isclose(sum(c.weight for c in targeting.countries), 1.0, abs_tol=1e-6)
    assert len({c.weight for c in targeting.countries}) == 1


def test_meta_social_issue_rule_in_the_eu_is_recorded_not_dropped(config):
    targeting = derive_targeting(config, judgement({"PL": assessment(), "UA": assessment()}), AFTER_EU_RULE)
    poland, meta_pl = entry(targeting, "PL", Platform.META)
    _, google_pl = entry(targeting, "PL", Platform.GOOGLE_ADS)
    _, meta_ua = entry(targeting, "UA", Platform.META)
    assert meta_pl.status == "refused" and meta_pl.weight == 0
    assert meta_pl.refusals[0].code == "policy_rule:no_social_issue_ads"
    assert "TTPA" in meta_pl.refusals[0].reason and "2025-10-06" in meta_pl.refusals[0].reason
    assert google_pl.status == "targeted" and math.isclose(google_pl.weight, poland.weight)
    assert meta_ua.status == "targeted"  # Ukraine is not in the EU rule
    before = derive_targeting(config, judgement({"PL": assessment()}), BEFORE_EU_RULE)
    assert entry(before, "PL", Platform.META)[1].status == "targeted"


def test_disabled_platform_is_refused_everywhere(config):
    policy = config.policy.model_copy(
        update={
            "platforms": {
                **config.policy.platforms,
                Platform.META: config.policy.platforms[Platform.META].model_copy(update={"enabled": False}),
            }
        }
    )
    targeting = derive_targeting(config.model_copy(update={"policy": policy}), None, BEFORE_EU_RULE)
    for country in targeting.countries:
        meta = next(p for p in country.platforms if p.platform == Platform.META)
        assert meta.status == "refused" and meta.refusals[0].code == "platform_disabled"


def test_guard_refuses_audience_hints_and_records_why(config):
    hints = ["women travelling alone with children", "Roma communities", "people interested in job ads"]
    targeting = derive_targeting(config, judgement({"PL": assessment(hints=hints)}), BEFORE_EU_RULE)
    assert [(g.country, g.category) for g in targeting.guard] == [
        ("PL", "minors"),
        ("PL", "ethnicity"),
        ("PL", "interest_or_behaviour"),
    ]
    assert all(g.reason for g in targeting.guard)
    _, meta = entry(targeting, "PL", Platform.META)
    assert not {"interests", "behaviors", "flexible_spec"} & set(meta.geo | meta.age | meta.placements)


def test_guard_refuses_sensitive_or_underage_specs():
    spec = PlatformTargeting(
        platform=Platform.META,
        status="targeted",
        weight=0,
        geo={"countries": ["PL"], "interests": [{"id": 1, "name": "Refugees"}]},
        age={"age_min": 16, "age_max": 65},
    )
    codes = {r.code for r in guard_violations(spec)}
    assert codes == {"policy_guard:interest_or_behaviour", "policy_guard:minors"}
    google = PlatformTargeting(
        platform=Platform.GOOGLE_ADS, status="targeted", weight=0, age={"age_ranges": ["AGE_RANGE_25_34"]}
    )
    assert {r.code for r in guard_violations(google)} == {"policy_guard:narrow_age"}


def test_weights_follow_risk_people_and_confidence(config):
    high = derive_targeting(
        config, judgement({"PL": assessment(), "RO": assessment(risk="low")}), BEFORE_EU_RULE
    )
    weights = {c.code: c.weight for c in high.countries}
    assert weights["PL"] > weights["RO"] > weights["DE"]
    low = derive_targeting(
        config,
        judgement({"PL": assessment(), "RO": assessment(risk="low")}, confidence="low"),
        BEFORE_EU_RULE,
    )
    assert {c.code: c.weight for c in low.countries}["PL"] < weights["PL"]  # baseline gains share


def test_diff_lists_added_and_removed_hotspots_languages_and_weights(config):
    first = derive_targeting(config, judgement({"PL": assessment(hotspots=[MEDYKA])}), BEFORE_EU_RULE)
    berlin = {"name": "Berlin Hbf", "kind": "transit_hub", "lat": 52.5251, "lon": 13.3694, "radius_km": 5}
    second = derive_targeting(
        config,
        judgement({"PL": assessment(languages=("uk",)), "DE": assessment(hotspots=[berlin])}),
        BEFORE_EU_RULE,
    )
    diff = diff_targeting(first.as_json(), second.as_json())
    rows = {row["country"]: row for row in diff["countries"]}
    assert rows["PL"]["hotspots_removed"] == ["Medyka"] and rows["PL"]["languages_removed"] == ["ru"]
    assert rows["DE"]["hotspots_added"] == ["Berlin Hbf"] and rows["DE"]["languages_removed"] == ["de", "en"]
    assert rows["DE"]["weight_delta"] > 0 > rows["PL"]["weight_delta"]
    assert math.isclose(
        rows["DE"]["weight_after"] - rows["DE"]["weight_before"], rows["DE"]["weight_delta"], abs_tol=1e-5
    )
    table = render_diff(diff)
    assert "country  weight before" in table
    assert "PL: -Medyka" in table and "DE: +Berlin Hbf" in table
    assert not rows["FR"]["hotspots_added"]
    unchanged = diff_targeting(second.as_json(), second.as_json())
    assert not any(row["changed"] for row in unchanged["countries"])
    assert "no change per country" in render_diff(unchanged)


# --- properties --------------------------------------------------------------------------------

CONFIG = load_campaign_config()


@st.composite
def hotspots_in(draw, code: str):
    south, west, north, east = COUNTRY_BOUNDS[code]
    return {
        "name": draw(st.text(alphabet="abcdefghij ", min_size=2, max_size=12)),
        "kind": draw(st.sampled_from(list(HotspotKind))).value,
        "lat": draw(st.floats(south, north)),
        "lon": draw(st.floats(west, east)),
        "radius_km": draw(st.floats(1, 80)),
    }


@st.composite
def judgements(draw):
    codes = draw(st.lists(st.sampled_from([c.code for c in CONFIG.countries]), unique=True, max_size=19))
    countries = {}
    for code in codes:
        countries[code] = {
            "risk_level": draw(st.sampled_from(list(RiskLevel))).value,
            "people_on_the_move": {
                "value": draw(st.integers(0, 10_000_000)),
                "basis": FigureBasis.ILLUSTRATIVE.value,
            },
            "hotspots": draw(st.lists(hotspots_in(code), max_size=3)),
            "languages": draw(st.lists(st.sampled_from(["uk", "ru", "en", "pl"]), min_size=1, unique=True)),
            "risk_themes": [draw(st.sampled_from(list(RiskTheme))).value],
            "audience_hints": draw(st.lists(st.sampled_from(["children", "refugees", "gamers"]), max_size=2)),
        }
    if not countries:
        return None
    return judgement(countries, confidence=draw(st.sampled_from(list(Confidence))).value)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    judgement_in_force=judgements(),
    on=st.dates(dt.date(2022, 1, 1), dt.date(2027, 12, 31)),
    meta_enabled=st.booleans(),
    google_enabled=st.booleans(),
)
def test_every_country_is_targeted_or_refused_and_weights_sum_to_one(
    judgement_in_force, on, meta_enabled, google_enabled
):
    platforms = dict(CONFIG.policy.platforms)
    platforms[Platform.META] = platforms[Platform.META].model_copy(update={"enabled": meta_enabled})
    platforms[Platform.GOOGLE_ADS] = platforms[Platform.GOOGLE_ADS].model_copy(
        update={"enabled": google_enabled}
    )
    config = CONFIG.model_copy(update={"policy": CONFIG.policy.model_copy(update={"platforms": platforms})})

    targeting = derive_targeting(config, judgement_in_force, on)

    assert [c.code for c in targeting.countries] == [c.code for c in config.countries]
    entries = [p for c in targeting.countries for p in c.platforms]
    for country in targeting.countries:
        assert {p.platform for p in country.platforms} == set(Platform)
        assert country.weight >= 0
        for platform in country.platforms:
            assert platform.weight >= 0
            if platform.status == "refused":
                assert platform.refusals and platform.weight == 0
            else:
                assert not guard_violations(platform)
                assert platform.languages and platform.age and platform.geo
    targeted = [p for p in entries if p.status == "targeted"]
    if targeted:
        assert math.isclose(sum(c.weight for c in targeting.countries), 1.0, abs_tol=1e-6)
        assert math.isclose(sum(p.weight for p in targeted), 1.0, abs_tol=1e-6)
    else:
        assert sum(c.weight for c in targeting.countries) == 0
    assert len(targeting.guard) == sum(
        len(a.audience_hints) for a in (judgement_in_force.countries.values() if judgement_in_force else [])
    )
