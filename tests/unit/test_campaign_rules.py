"""cross_check, rule by rule: each test breaks exactly one rule of a small valid config and expects
exactly that rule's findings."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from safepassage.domain.campaign import CampaignConfig, ConfigFinding, cross_check

VALID: dict[str, Any] = {
    "countries": [
        {
            "code": "UA",
            "name": "Ukraine",
            "role": "origin",
            "currency": "UAH",
            "time_zone": "Europe/Kyiv",
            "google_geo_target_id": 2804,
            "meta_country_code": "UA",
            "languages": ["uk"],
            "why": "People preparing to leave meet the first fraudulent offers here.",
        },
        {
            "code": "PL",
            "name": "Poland",
            "role": "neighbour",
            "currency": "PLN",
            "time_zone": "Europe/Warsaw",
            "google_geo_target_id": 2616,
            "meta_country_code": "PL",
            "languages": ["uk", "pl"],
            "why": "Largest number of border crossings in 2022.",
        },
    ],
    "languages": [
        {
            "code": "uk",
            "name": "Ukrainian",
            "native_name": "Українська",
            "script": "Cyrillic",
            "google_language_id": 1036,
            "meta_locale_ids": [52],
        },
        {
            "code": "pl",
            "name": "Polish",
            "native_name": "Polski",
            "script": "Latin",
            "google_language_id": 1030,
            "meta_locale_ids": [34],
        },
    ],
    "organisations": [
        {
            "id": "la-strada-ukraine",
            "name": "La Strada-Ukraine",
            "url": "https://la-strada.org.ua/",
            "countries": ["UA"],
            "languages": ["uk"],
            "services": ["national hotline"],
        },
        {
            "id": "la-strada-poland",
            "name": "La Strada Poland",
            "url": "https://strada.org.pl/",
            "countries": ["PL"],
            "languages": ["pl", "uk"],
            "services": ["helpline"],
        },
    ],
    "budget": {
        "currency": "EUR",
        "global_daily_cap": "1000.00",
        "default_country_daily_cap": "200.00",
        "countries": {"PL": {"daily_floor": "60.00", "daily_cap": "300.00"}},
    },
    "policy": {
        "campaign_is_social_issue": True,
        "platforms": {"google_ads": {}, "meta": {}},
        "rules": [
            {
                "platform": "meta",
                "countries": ["PL"],
                "restriction": "no_social_issue_ads",
                "effective_from": "2025-10-06",
                "reason": "Meta stopped social-issue ads in the EU.",
            }
        ],
    },
}


def findings(edit: Callable[[dict[str, Any]], object]) -> list[ConfigFinding]:
    """cross_check on the valid config after `edit` changed a copy of it."""
    data = copy.deepcopy(VALID)
    edit(data)
    return cross_check(CampaignConfig.model_validate(data))


def test_a_valid_config_has_no_findings() -> None:
    assert findings(lambda data: None) == []


def test_country_codes_are_unique() -> None:
    def add_poland_again(data: dict[str, Any]) -> None:
        data["countries"].append({**data["countries"][1], "google_geo_target_id": 2617})

    assert findings(add_poland_again) == [
        ConfigFinding("countries", ("countries", 2, "code"), "duplicate code 'PL' (already used by item 1)")
    ]


def test_geo_target_ids_are_unique() -> None:
    assert findings(lambda data: data["countries"][1].update(google_geo_target_id=2804)) == [
        ConfigFinding(
            "countries",
            ("countries", 1, "google_geo_target_id"),
            "duplicate google_geo_target_id 2804 (already used by item 0)",
        )
    ]


def test_language_codes_are_unique() -> None:
    def add_ukrainian_again(data: dict[str, Any]) -> None:
        data["languages"].append({**data["languages"][0], "google_language_id": 1037})

    assert findings(add_ukrainian_again) == [
        ConfigFinding("languages", ("languages", 2, "code"), "duplicate code 'uk' (already used by item 0)")
    ]


def test_google_language_ids_are_unique() -> None:
    assert findings(lambda data: data["languages"][1].update(google_language_id=1036)) == [
        ConfigFinding(
            "languages",
            ("languages", 1, "google_language_id"),
            "duplicate google_language_id 1036 (already used by item 0)",
        )
    ]


def test_organisation_ids_are_unique() -> None:
    assert findings(lambda data: data["organisations"].append(data["organisations"][0])) == [
        ConfigFinding(
            "organisations",
            ("organisations", 2, "id"),
            "duplicate id 'la-strada-ukraine' (already used by item 0)",
        )
    ]


def test_country_languages_are_known() -> None:
    assert findings(lambda data: data["countries"][0].update(languages=["uk", "it"])) == [
        ConfigFinding(
            "countries",
            ("countries", 0, "languages", 1),
            "unknown language 'it'; add it to languages.yaml or remove it here",
        )
    ]


def test_every_language_is_served() -> None:
    assert findings(lambda data: data["countries"][1].update(languages=["uk"])) == [
        ConfigFinding("languages", ("languages", 1, "code"), "language 'pl' is not served in any country")
    ]


def test_organisation_places_are_known() -> None:
    def name_unknown_places(data: dict[str, Any]) -> None:
        data["organisations"][1].update(countries=["PL", "XX"], languages=["qq", "pl"])

    assert findings(name_unknown_places) == [
        ConfigFinding("organisations", ("organisations", 1, "countries", 1), "unknown country 'XX'"),
        ConfigFinding("organisations", ("organisations", 1, "languages", 0), "unknown language 'qq'"),
    ]


def test_every_country_has_an_organisation() -> None:
    assert findings(lambda data: data["organisations"][0].update(countries=["PL"])) == [
        ConfigFinding(
            "countries",
            ("countries", 0, "code"),
            "no support organisation serves UA; the ads would signpost nowhere",
        )
    ]


def test_budget_country_is_known() -> None:
    def budget_for_nowhere(data: dict[str, Any]) -> None:
        data["budget"]["countries"]["XX"] = {"daily_cap": "100.00"}

    assert findings(budget_for_nowhere) == [
        ConfigFinding("budget", ("countries", "XX"), "unknown country 'XX'")
    ]


def test_budget_floor_is_within_its_cap() -> None:
    assert findings(lambda data: data["budget"]["countries"]["PL"].update(daily_floor="301")) == [
        ConfigFinding("budget", ("countries", "PL", "daily_floor"), "floor 301.00 is above the cap 300.00")
    ]


def test_budget_cap_is_within_the_global_cap() -> None:
    assert findings(lambda data: data["budget"]["countries"]["PL"].update(daily_cap="1000.01")) == [
        ConfigFinding(
            "budget", ("countries", "PL", "daily_cap"), "cap 1000.01 is above the global cap 1000.00"
        )
    ]


def test_floors_fit_within_the_global_cap() -> None:
    def raise_the_floors(data: dict[str, Any]) -> None:
        data["budget"]["countries"] = {
            "PL": {"daily_floor": "300.00", "daily_cap": "300.00"},
            "UA": {"daily_floor": "250.00", "daily_cap": "250.00"},
        }
        data["budget"]["global_daily_cap"] = "500.00"

    assert findings(raise_the_floors) == [
        ConfigFinding(
            "budget",
            ("global_daily_cap",),
            "the country floors add up to 550.00, above the global cap 500.00",
        )
    ]


def test_policy_rule_countries_are_known() -> None:
    assert findings(lambda data: data["policy"]["rules"][0].update(countries=["PL", "XX"])) == [
        ConfigFinding("platform_policy", ("rules", 0, "countries", 1), "unknown country 'XX'")
    ]


def test_one_country_budget_entry_is_reported_together_before_the_next() -> None:
    def break_two_entries(data: dict[str, Any]) -> None:
        data["budget"]["countries"] = {
            "XX": {"daily_floor": "20.00", "daily_cap": "10.00"},
            "PL": {"daily_floor": "60.00", "daily_cap": "1200.00"},
        }

    assert [finding.loc for finding in findings(break_two_entries)] == [
        ("countries", "XX"),
        ("countries", "XX", "daily_floor"),
        ("countries", "PL", "daily_cap"),
    ]
