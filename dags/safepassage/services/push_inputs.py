"""What budgets and the push read from the warehouse, converted into their own small input types.

The targeting snapshot (issue-intel: `Targeting.as_json()` in `targeting_snapshot.targeting`) and
the creative versions (issue-creatives: `creative_version.content` of a Google RSA) are read here
and only here, so a change of their shapes is a change of this module.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from safepassage.domain.budgets import CountryDemand, minor_to_micros
from safepassage.domain.campaign import CampaignConfig, Platform
from safepassage.domain.errors import InvalidInput, Problem
from safepassage.domain.push_google import CountryTargeting, CreativeForPush, Proximity
from safepassage.domain.push_meta import MetaCountryTargeting, MetaCreative, MetaImage
from safepassage.domain.push_settings import PushSettings
from safepassage.services.ports import Warehouse

TARGETING_SOURCE = "warehouse targeting_snapshot"


# --- targeting ------------------------------------------------------------------------------------


def latest_targeting(warehouse: Warehouse, on: dt.date | None = None) -> dict[str, Any] | None:
    return warehouse.targeting.latest_targeting_document(on)


def effective_targeting(warehouse: Warehouse, on: dt.date | None = None) -> tuple[int, dict[str, Any]] | None:
    """(snapshot id, document) of the targeting in effect on `on` (default: the latest)."""
    return warehouse.targeting.effective_targeting(on)


def _platform_entry(country: Mapping[str, Any], platform: Platform) -> Mapping[str, Any] | None:
    for entry in country.get("platforms", ()):
        if entry.get("platform") == platform.value and entry.get("status") == "targeted":
            return dict(entry)
    return None


def google_targeting(document: Mapping[str, Any], config: CampaignConfig) -> list[CountryTargeting]:
    """Countries Google may serve, with their criteria, from a targeting document."""
    found: list[CountryTargeting] = []
    problems: list[Problem] = []
    for index, country in enumerate(document.get("countries", ())):
        entry = _platform_entry(country, Platform.GOOGLE_ADS)
        if entry is None or float(country.get("weight", 0)) <= 0:
            continue
        code = str(country["code"])
        try:
            languages = {
                lang: config.language(lang).google_language_id for lang in country.get("language_codes", ())
            }
        except KeyError as error:
            problems.append(Problem(TARGETING_SOURCE, f"countries[{index}].language_codes", str(error)))
            continue
        geo = entry.get("geo", {})
        found.append(
            CountryTargeting(
                country=code,
                weight=float(country["weight"]),
                languages=languages,
                location_ids=tuple(int(i) for i in geo.get("location_ids", ())),
                proximities=tuple(
                    Proximity(lat=float(p["lat"]), lon=float(p["lon"]), radius_km=float(p["radius"]))
                    for p in geo.get("proximities", ())
                ),
            )
        )
    if problems:
        raise InvalidInput(problems)
    return found


def budget_demands(
    document: Mapping[str, Any],
    push: PushSettings,
    cost_per_signposting_click: Mapping[str, int] | None = None,
    pushed: Callable[[Platform, str], bool] | None = None,
) -> list[CountryDemand]:
    """Country weights and per-platform shares (targeting's, else push.yaml's) for the allocator.

    A platform gets a share of a country only where targeting targets it and `pushed` says the push
    will serve it there (an account for it, and the platform policy allows it that day): money never
    goes to a platform nothing spends it on; the allocator gives the country's amount to the others.
    """
    costs = cost_per_signposting_click or {}
    demands = []
    for country in document.get("countries", ()):
        shares: dict[str, float] = {}
        for platform in Platform:
            entry = _platform_entry(country, platform)
            if entry is None or (pushed is not None and not pushed(platform, str(country["code"]))):
                continue
            share = float(entry.get("weight") or 0) or float(push.platform_shares.get(platform, 0))
            if share > 0:
                shares[platform.value] = share
        code = str(country["code"])
        demands.append(CountryDemand(code, float(country.get("weight", 0)), shares, costs.get(code)))
    return demands


# --- creatives ------------------------------------------------------------------------------------


def current_google_creatives(warehouse: Warehouse) -> list[CreativeForPush]:
    """The newest stored version of each theme × country × language Google RSA."""
    return creatives_from_versions(warehouse.push.newest_creative_versions(Platform.GOOGLE_ADS.value))


def creatives_from_versions(
    versions: Iterable[tuple[str, str, str, str, Mapping[str, Any]]],
) -> list[CreativeForPush]:
    """(theme, country, language, content hash, content) of a `google_rsa` render → push input."""
    found = []
    for theme, country, language, content_hash, content in versions:
        paths = [*content.get("paths", ()), "", ""]
        found.append(
            CreativeForPush(
                theme=theme,
                country=country,
                language=language,
                headlines=tuple(content.get("headlines", ())),
                descriptions=tuple(content.get("descriptions", ())),
                final_url=str(content.get("final_url", "")),
                path1=paths[0],
                path2=paths[1],
                version_hash=content_hash,
            )
        )
    return found


# --- budgets --------------------------------------------------------------------------------------


def allocation_with_targeting(
    warehouse: Warehouse, platform: Platform, currency: str
) -> tuple[dict[str, int], dict[str, Any] | None]:
    """The allocation in effect (country → daily micros for `platform`) and the targeting document it
    was derived from, so a push never pairs one targeting with budgets made for another.

    Allocations stored before they recorded their snapshot fall back to the latest targeting.
    """
    inputs, amounts = warehouse.push.latest_allocation(platform=platform.value)
    snapshot_id = (inputs or {}).get("targeting_snapshot_id")
    document = (
        warehouse.targeting.targeting_document(int(snapshot_id))
        if snapshot_id is not None
        else latest_targeting(warehouse)
    )
    return {code: minor_to_micros(amount, currency) for code, amount in amounts.items()}, document


# --- Meta -----------------------------------------------------------------------------------------


def meta_targeting(
    document: Mapping[str, Any], config: CampaignConfig, on: dt.date
) -> tuple[list[MetaCountryTargeting], list[str]]:
    """Countries Meta may serve on `on`, with their ad set targeting; and why the others may not.

    The targeting snapshot already refuses Meta where config/platform_policy.yaml says so on the day it
    was derived; the policy is checked again for `on`, so a rule coming into force between two
    snapshots still leaves the country out.
    """
    found: list[MetaCountryTargeting] = []
    left_out: list[str] = []
    problems: list[Problem] = []
    for index, country in enumerate(document.get("countries", ())):
        code = str(country["code"])
        if float(country.get("weight", 0)) <= 0:
            continue
        refusals = [
            str(r.get("reason"))
            for p in country.get("platforms", ())
            if p.get("platform") == Platform.META.value and p.get("status") == "refused"
            for r in p.get("refusals", ())
        ]
        refusals += [
            f"{rule.reason} (config/platform_policy.yaml, in force from {rule.effective_from})"
            for rule in config.policy.restrictions(Platform.META, code, on)
        ]
        entry = _platform_entry(country, Platform.META)
        if refusals or entry is None:
            if refusals:
                left_out.append(f"{code} left out on Meta: {'; '.join(dict.fromkeys(refusals))}")
            continue
        try:
            locales = {
                lang: tuple(config.language(lang).meta_locale_ids)
                for lang in country.get("language_codes", ())
            }
            fallback = {
                "countries": [config.country(code).meta_country_code],
                "location_types": ["home", "recent"],
            }
        except KeyError as error:
            problems.append(Problem(TARGETING_SOURCE, f"countries[{index}]", str(error)))
            continue
        geo: dict[str, Any] = copy.deepcopy(dict(entry.get("geo") or {})) or fallback
        for place in geo.get("custom_locations", ()):
            place.pop("name", None)  # a label for people; not part of Meta's spec
            place.setdefault("country", code)
        age = entry.get("age") or {}
        found.append(
            MetaCountryTargeting(
                country=code,
                weight=float(country["weight"]),
                locales=locales,
                geo_locations=geo,
                age_min=int(age.get("age_min", 18)),
                age_max=int(age.get("age_max", 65)),
                device_platforms=tuple(
                    (entry.get("devices") or {}).get("device_platforms", ("mobile", "desktop"))
                ),
            )
        )
    if problems:
        raise InvalidInput(problems)
    return found, left_out


def current_meta_creatives(warehouse: Warehouse, images: Mapping[str, MetaImage]) -> list[MetaCreative]:
    """The newest stored version of each theme × country × language Meta feed ad, with its theme's image."""
    found = []
    for theme, country, language, content_hash, content in warehouse.push.newest_creative_versions(
        Platform.META.value
    ):
        image = images.get(theme)
        found.append(
            MetaCreative(
                theme=theme,
                country=country,
                language=language,
                primary_text=str(content.get("primary_text", "")),
                headline=str(content.get("headline", "")),
                description=str(content.get("description", "")),
                call_to_action=str(content.get("call_to_action", "LEARN_MORE")),
                link=str(content.get("link", "")),
                image_hash=image.hash if image else "",
                version_hash=content_hash,
            )
        )
    return found


def image_library(creatives_dir: Path) -> dict[str, MetaImage]:
    """Theme → its image (creatives/images/<theme>.png), known by the MD5 of its bytes as Meta names it."""
    found = {}
    for path in sorted((creatives_dir / "images").glob("*.png")):
        digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        found[path.stem] = MetaImage(name=path.name, path=f"images/{path.name}", hash=digest)
    return found


def latest_allocation_minor(warehouse: Warehouse, platform: Platform) -> dict[str, int]:
    """Country → daily minor units for `platform` from the allocation in effect (empty if none)."""
    return dict(warehouse.push.latest_allocation(platform=platform.value)[1])
