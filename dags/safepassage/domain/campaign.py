"""The campaign's standing configuration: where it runs, in which languages, who it signposts to,
how much it may spend, and what each platform allows where. Pure data and rules, no I/O."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import Counter
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PositiveInt,
    field_validator,
    model_validator,
)

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$", description="ISO 639-1 (or -3)")]
CENT = Decimal("0.01")
Money = Annotated[
    Decimal, Field(ge=0, max_digits=14, decimal_places=2), AfterValidator(lambda value: value.quantize(CENT))
]


def _known_time_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


class Platform(StrEnum):
    GOOGLE_ADS = "google_ads"
    META = "meta"


class Script(StrEnum):
    LATIN = "Latin"
    CYRILLIC = "Cyrillic"


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CountryBounds(Frozen):
    """A bounding box in degrees (WGS84): the kill switch's check of which countries a pin reaches."""

    south: float = Field(ge=-90, le=90)
    west: float = Field(ge=-180, le=180)
    north: float = Field(ge=-90, le=90)
    east: float = Field(ge=-180, le=180)

    @model_validator(mode="after")
    def _ordered(self) -> CountryBounds:
        if self.south > self.north or self.west > self.east:
            raise ValueError("south must be ≤ north and west ≤ east")
        return self


class Country(Frozen):
    code: CountryCode
    name: str = Field(min_length=2)
    role: str = Field(pattern=r"^(origin|neighbour|transit|destination)$")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, local currency")
    time_zone: Annotated[str, AfterValidator(_known_time_zone)]
    google_geo_target_id: PositiveInt
    meta_country_code: CountryCode
    languages: tuple[LanguageCode, ...] = Field(min_length=1)
    why: str = Field(min_length=10, description="why the campaign runs here")
    bounds: CountryBounds | None = Field(default=None, description="bounding box, for pins without a country")

    @field_validator("languages")
    @classmethod
    def _languages_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted(code for code, count in Counter(value).items() if count > 1)
        if repeated:
            raise ValueError(f"language listed twice: {', '.join(repeated)}")
        return value


class Language(Frozen):
    code: LanguageCode
    name: str
    native_name: str
    script: Script
    google_language_id: PositiveInt
    meta_locale_ids: tuple[PositiveInt, ...] = Field(min_length=1)


class Organisation(Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str = Field(min_length=2)
    url: HttpUrl
    helpline: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 ]{2,20}$")
    countries: tuple[CountryCode, ...] = Field(min_length=1)
    languages: tuple[LanguageCode, ...] = Field(min_length=1)
    services: tuple[str, ...] = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _https_only(cls, value: HttpUrl) -> HttpUrl:
        if value.scheme != "https":
            raise ValueError("support organisation links must use https")
        return value


class CountryBudget(Frozen):
    daily_floor: Money = Decimal(0)
    daily_cap: Money


class BudgetCaps(Frozen):
    """Hard limits in the campaign currency. Nothing above these may ever reach a platform."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    global_daily_cap: Money
    default_country_daily_cap: Money
    countries: dict[CountryCode, CountryBudget] = Field(default_factory=dict)

    def country_cap(self, code: str) -> Decimal:
        budget = self.countries.get(code)
        return budget.daily_cap if budget else self.default_country_daily_cap

    def country_floor(self, code: str) -> Decimal:
        budget = self.countries.get(code)
        return budget.daily_floor if budget else Decimal(0)


class PlatformDefaults(Frozen):
    enabled: bool = True
    special_ad_categories: tuple[str, ...] = ()
    contains_eu_political_advertising: bool = False
    minimum_age: int = Field(default=18, ge=18, description="never target minors")


class PolicyRule(Frozen):
    """A platform restriction in some countries from a date, e.g. no social-issue ads in the EU."""

    platform: Platform
    countries: tuple[CountryCode, ...] = Field(min_length=1)
    restriction: str = Field(pattern=r"^(no_social_issue_ads|paused)$")
    effective_from: dt.date
    effective_until: dt.date | None = None
    reason: str = Field(min_length=10)

    def applies(self, platform: Platform, country: str, on: dt.date) -> bool:
        in_force = self.effective_from <= on and (self.effective_until is None or on < self.effective_until)
        return in_force and platform == self.platform and country in self.countries


class PlatformPolicy(Frozen):
    campaign_is_social_issue: bool = Field(
        description="whether the platforms class these ads as social-issue ads; restrictions on "
        "social-issue ads only bite when true"
    )
    platforms: dict[Platform, PlatformDefaults]
    rules: tuple[PolicyRule, ...] = ()

    def restrictions(self, platform: Platform, country: str, on: dt.date) -> list[PolicyRule]:
        """The rules that stop `platform` running the campaign in `country` on `on`."""
        found = []
        for rule in self.rules:
            if not rule.applies(platform, country, on):
                continue
            if rule.restriction == "no_social_issue_ads" and not self.campaign_is_social_issue:
                continue
            found.append(rule)
        return found

    def allows(self, platform: Platform, country: str, on: dt.date) -> bool:
        defaults = self.platforms.get(platform)
        return bool(defaults and defaults.enabled) and not self.restrictions(platform, country, on)


@dataclass(frozen=True)
class ConfigFinding:
    """A cross-file problem: which file (by section name), where in it, and what."""

    section: str
    loc: tuple[str | int, ...]
    message: str


class CampaignConfig(Frozen):
    countries: tuple[Country, ...] = Field(min_length=1)
    languages: tuple[Language, ...] = Field(min_length=1)
    organisations: tuple[Organisation, ...] = Field(min_length=1)
    budget: BudgetCaps
    policy: PlatformPolicy

    @cached_property
    def country_by_code(self) -> dict[str, Country]:
        return {country.code: country for country in self.countries}

    @cached_property
    def language_by_code(self) -> dict[str, Language]:
        return {language.code: language for language in self.languages}

    def country(self, code: str) -> Country:
        try:
            return self.country_by_code[code]
        except KeyError:
            raise KeyError(f"unknown country {code!r}; config/countries.yaml lists the campaign's") from None

    def language(self, code: str) -> Language:
        try:
            return self.language_by_code[code]
        except KeyError:
            raise KeyError(f"unknown language {code!r}; config/languages.yaml lists the campaign's") from None

    def organisations_for(self, country: str, language: str | None = None) -> list[Organisation]:
        return [
            org
            for org in self.organisations
            if country in org.countries and (language is None or language in org.languages)
        ]

    def country_languages(self) -> Iterator[tuple[Country, Language]]:
        for country in self.countries:
            for code in country.languages:
                yield country, self.language(code)


# --- cross-file rules (cross_check runs them in order; each reports in file order) ----------------


def _duplicates(section: str, key: str, values: Sequence[object]) -> list[ConfigFinding]:
    first_seen: dict[object, int] = {}
    findings = []
    for index, value in enumerate(values):
        if value in first_seen:
            findings.append(
                ConfigFinding(
                    section,
                    (section, index, key),
                    f"duplicate {key} {value!r} (already used by item {first_seen[value]})",
                )
            )
        else:
            first_seen[value] = index
    return findings


def _unknown_codes(
    section: str, loc: tuple[str | int, ...], codes: Sequence[str], known: Container[str], message: str
) -> list[ConfigFinding]:
    """One finding per code in `codes` that `known` lacks; `message` is formatted with the code."""
    return [
        ConfigFinding(section, (*loc, position), message.format(code=code))
        for position, code in enumerate(codes)
        if code not in known
    ]


def country_codes_are_unique(config: CampaignConfig) -> list[ConfigFinding]:
    return _duplicates("countries", "code", [country.code for country in config.countries])


def geo_target_ids_are_unique(config: CampaignConfig) -> list[ConfigFinding]:
    return _duplicates(
        "countries", "google_geo_target_id", [country.google_geo_target_id for country in config.countries]
    )


def language_codes_are_unique(config: CampaignConfig) -> list[ConfigFinding]:
    return _duplicates("languages", "code", [language.code for language in config.languages])


def google_language_ids_are_unique(config: CampaignConfig) -> list[ConfigFinding]:
    return _duplicates(
        "languages", "google_language_id", [language.google_language_id for language in config.languages]
    )


def organisation_ids_are_unique(config: CampaignConfig) -> list[ConfigFinding]:
    return _duplicates("organisations", "id", [org.id for org in config.organisations])


def country_languages_are_known(config: CampaignConfig) -> list[ConfigFinding]:
    return [
        finding
        for index, country in enumerate(config.countries)
        for finding in _unknown_codes(
            "countries",
            ("countries", index, "languages"),
            country.languages,
            config.language_by_code,
            "unknown language {code!r}; add it to languages.yaml or remove it here",
        )
    ]


def every_language_is_served(config: CampaignConfig) -> list[ConfigFinding]:
    served = {code for country in config.countries for code in country.languages}
    return [
        ConfigFinding(
            "languages",
            ("languages", index, "code"),
            f"language {language.code!r} is not served in any country",
        )
        for index, language in enumerate(config.languages)
        if language.code not in served
    ]


def organisation_places_are_known(config: CampaignConfig) -> list[ConfigFinding]:
    """Every country and language an organisation serves is one the campaign declares."""
    findings = []
    for index, org in enumerate(config.organisations):
        findings += _unknown_codes(
            "organisations",
            ("organisations", index, "countries"),
            org.countries,
            config.country_by_code,
            "unknown country {code!r}",
        )
        findings += _unknown_codes(
            "organisations",
            ("organisations", index, "languages"),
            org.languages,
            config.language_by_code,
            "unknown language {code!r}",
        )
    return findings


def every_country_has_an_organisation(config: CampaignConfig) -> list[ConfigFinding]:
    return [
        ConfigFinding(
            "countries",
            ("countries", index, "code"),
            f"no support organisation serves {country.code}; the ads would signpost nowhere",
        )
        for index, country in enumerate(config.countries)
        if not config.organisations_for(country.code)
    ]


def budget_country_is_known(
    config: CampaignConfig, code: str, country_budget: CountryBudget
) -> list[ConfigFinding]:
    if code in config.country_by_code:
        return []
    return [ConfigFinding("budget", ("countries", code), f"unknown country {code!r}")]


def budget_floor_is_within_its_cap(
    config: CampaignConfig, code: str, country_budget: CountryBudget
) -> list[ConfigFinding]:
    floor, cap = country_budget.daily_floor, country_budget.daily_cap
    if floor <= cap:
        return []
    return [
        ConfigFinding(
            "budget",
            ("countries", code, "daily_floor"),
            f"floor {floor:.2f} is above the cap {cap:.2f}",
        )
    ]


def budget_cap_is_within_the_global_cap(
    config: CampaignConfig, code: str, country_budget: CountryBudget
) -> list[ConfigFinding]:
    cap, global_cap = country_budget.daily_cap, config.budget.global_daily_cap
    if cap <= global_cap:
        return []
    return [
        ConfigFinding(
            "budget",
            ("countries", code, "daily_cap"),
            f"cap {cap:.2f} is above the global cap {global_cap:.2f}",
        )
    ]


CountryBudgetRule = Callable[[CampaignConfig, str, CountryBudget], list[ConfigFinding]]
COUNTRY_BUDGET_RULES: tuple[CountryBudgetRule, ...] = (
    budget_country_is_known,
    budget_floor_is_within_its_cap,
    budget_cap_is_within_the_global_cap,
)


def country_budgets_are_sound(config: CampaignConfig) -> list[ConfigFinding]:
    """COUNTRY_BUDGET_RULES on each country's entry in turn, so one entry's findings stay together."""
    return [
        finding
        for code, country_budget in config.budget.countries.items()
        for rule in COUNTRY_BUDGET_RULES
        for finding in rule(config, code, country_budget)
    ]


def floors_fit_within_the_global_cap(config: CampaignConfig) -> list[ConfigFinding]:
    budget = config.budget
    floors = sum((budget.country_floor(code) for code in config.country_by_code), Decimal(0))
    if floors <= budget.global_daily_cap:
        return []
    return [
        ConfigFinding(
            "budget",
            ("global_daily_cap",),
            f"the country floors add up to {floors:.2f}, above the global cap {budget.global_daily_cap:.2f}",
        )
    ]


def policy_rule_countries_are_known(config: CampaignConfig) -> list[ConfigFinding]:
    return [
        finding
        for index, rule in enumerate(config.policy.rules)
        for finding in _unknown_codes(
            "platform_policy",
            ("rules", index, "countries"),
            rule.countries,
            config.country_by_code,
            "unknown country {code!r}",
        )
    ]


CROSS_CHECK_RULES: tuple[Callable[[CampaignConfig], list[ConfigFinding]], ...] = (
    country_codes_are_unique,
    geo_target_ids_are_unique,
    language_codes_are_unique,
    google_language_ids_are_unique,
    organisation_ids_are_unique,
    country_languages_are_known,
    every_language_is_served,
    organisation_places_are_known,
    every_country_has_an_organisation,
    country_budgets_are_sound,
    floors_fit_within_the_global_cap,
    policy_rule_countries_are_known,
)


def cross_check(config: CampaignConfig) -> list[ConfigFinding]:
    """Rules that span files (CROSS_CHECK_RULES, in order). Each finding points at the field to fix."""
    return [finding for rule in CROSS_CHECK_RULES for finding in rule(config)]


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")
