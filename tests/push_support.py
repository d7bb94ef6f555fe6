"""Inputs for push tests: targeting and creatives for every country × language in the shipped config."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.push_google import CountryTargeting, CreativeForPush, Proximity

THEMES = ("jobs", "transport")


def targeting(
    config: CampaignConfig, proximities: dict[str, list[Proximity]] | None = None
) -> list[CountryTargeting]:
    proximities = proximities or {}
    return [
        CountryTargeting(
            country=country.code,
            weight=1 / len(config.countries),
            languages={code: config.language(code).google_language_id for code in country.languages},
            location_ids=() if country.code in proximities else (country.google_geo_target_id,),
            proximities=tuple(proximities.get(country.code, ())),
        )
        for country in config.countries
    ]


def creatives(
    config: CampaignConfig, themes: Iterable[str] = THEMES, edition: str = "1"
) -> list[CreativeForPush]:
    found = []
    for country, language in config.country_languages():
        org = config.organisations_for(country.code)[0]
        for theme in themes:
            found.append(
                CreativeForPush(
                    theme=theme,
                    country=country.code,
                    language=language.code,
                    headlines=(f"Safe {theme} {edition}", f"Help in {country.code}", f"Ask {language.code}"),
                    descriptions=(
                        "Check offers before you travel.",
                        f"Call {org.name[:60]} for free advice.",
                    ),
                    final_url=str(org.url),
                    path1=theme[:15],
                    version_hash=f"{theme}-{country.code}-{language.code}-{edition}",
                )
            )
    return found


def budgets(config: CampaignConfig, euros: int = 50) -> dict[str, int]:
    return {country.code: euros * 1_000_000 for country in config.countries}


def targeting_document(
    config: CampaignConfig,
    weights: dict[str, float] | None = None,
    hotspots: dict[str, list[dict[str, float]]] | None = None,
) -> dict[str, object]:
    """A targeting snapshot in issue-intel's stored shape (`Targeting.as_json()`)."""
    weights = weights or {c.code: 1.0 for c in config.countries}
    hotspots = hotspots or {}
    total = sum(weights.values())
    countries = []
    for country in config.countries:
        spots = hotspots.get(country.code, [])
        platforms = [
            {
                "platform": "google_ads",
                "status": "targeted",
                "refusals": [],
                "weight": 0.6,
                "geo": {
                    "location_ids": [] if spots else [country.google_geo_target_id],
                    "proximities": [
                        {
                            "name": "spot",
                            "lat": s["lat"],
                            "lon": s["lon"],
                            "radius": s["radius"],
                            "radius_units": "KILOMETERS",
                        }
                        for s in spots
                    ],
                },
                "languages": {
                    "language_ids": [config.language(code).google_language_id for code in country.languages]
                },
            },
            {
                "platform": "meta",
                "status": "targeted",
                "refusals": [],
                "weight": 0.4,
                "geo": {},
                "languages": {},
            },
        ]
        countries.append(
            {
                "code": country.code,
                "name": country.name,
                "basis": "baseline",
                "weight": weights.get(country.code, 0.0) / total,
                "language_codes": list(country.languages),
                "platforms": platforms,
            }
        )
    return {"as_of": "2022-03-25", "judgement_id": None, "judgement_hash": None, "countries": countries}


def store_inputs(
    warehouse: object,
    config: CampaignConfig,
    document: dict[str, object],
    edition: str = "1",
    meta: bool = True,
) -> None:
    """A targeting snapshot and Google RSA and Meta feed creative versions, stored as the other DAGs
    store them."""
    import hashlib
    import json

    from safepassage.adapters.warehouse import models as m
    from safepassage.adapters.warehouse import upsert

    content_hash = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    rows = []
    for creative in creatives(config, edition=edition):
        content = {
            "format": "google_rsa",
            "headlines": list(creative.headlines),
            "descriptions": list(creative.descriptions),
            "paths": [creative.path1],
            "final_url": creative.final_url,
        }
        rows.append(
            {
                "content_hash": hashlib.sha256(
                    json.dumps([creative.version_hash, content]).encode()
                ).hexdigest(),
                "theme": creative.theme,
                "platform_code": "google_ads",
                "country_code": creative.country,
                "language_code": creative.language,
                "template_id": f"{creative.theme}/google_rsa",
                "content": content,
            }
        )
    for country, language in config.country_languages() if meta else ():
        for theme in META_THEMES:
            content = {
                "format": "meta_feed",
                "primary_text": f"Check {theme} offers before you travel. {edition}",
                "headline": f"Help in {country.code}",
                "description": "Free and confidential",
                "call_to_action": "LEARN_MORE",
                "link": str(config.organisations_for(country.code)[0].url),
            }
            rows.append(
                {
                    "content_hash": hashlib.sha256(
                        json.dumps([theme, country.code, language.code, content]).encode()
                    ).hexdigest(),
                    "theme": theme,
                    "platform_code": "meta",
                    "country_code": country.code,
                    "language_code": language.code,
                    "template_id": f"{theme}/meta_feed",
                    "content": content,
                }
            )
    with warehouse.session() as session:  # type: ignore[attr-defined]
        upsert(
            session,
            m.TargetingSnapshot,
            [
                {
                    "judgement_id": "test",
                    "judgement_hash": content_hash,
                    "content_hash": content_hash,
                    "valid_from": dt.date(2022, 3, 25),
                    "targeting": document,
                    "diff_from_previous": {},
                }
            ],
            key=["content_hash"],
            update=[],
        )
        upsert(session, m.CreativeVersion, rows, key=["content_hash"], update=[])


def loopback_hostname() -> str:
    """Airflow's hostname callable for tests: the loopback guard refuses even a lookup of this machine."""
    return "localhost"


META_THEMES = ("job_offers", "transport_offers")


def meta_tree(
    config: CampaignConfig,
    countries: Iterable[str] | None = None,
    euros: int = 50,
    edition: str = "1",
    paused: Iterable[str] = (),
) -> Any:
    """The desired Meta tree for the shipped config: every (or the given) country in its languages,
    two themes with their images, `euros` a day per country."""
    from safepassage import settings
    from safepassage.domain.push_meta import (
        MetaAccountSettings,
        MetaCountryTargeting,
        MetaCreative,
        desired_tree,
    )
    from safepassage.services.push_inputs import image_library

    wanted = set(countries) if countries is not None else {c.code for c in config.countries}
    images = image_library(settings.creatives_dir())
    targeting = [
        MetaCountryTargeting(
            country=c.code,
            weight=1.0,
            locales={code: tuple(config.language(code).meta_locale_ids) for code in c.languages},
            geo_locations={"countries": [c.meta_country_code], "location_types": ["home", "recent"]},
        )
        for c in config.countries
        if c.code in wanted
    ]
    creatives = [
        MetaCreative(
            theme=theme,
            country=country.code,
            language=language.code,
            primary_text=f"Check {theme} offers before you travel. {edition}",
            headline=f"Help in {country.code}",
            description="Free and confidential",
            call_to_action="LEARN_MORE",
            link=str(config.organisations_for(country.code)[0].url),
            image_hash=images[theme].hash,
        )
        for country, language in config.country_languages()
        if country.code in wanted
        for theme in META_THEMES
    ]
    account = MetaAccountSettings(
        page_id="100000000000042", dsa_beneficiary="SafePassage", dsa_payor="SafePassage"
    )
    return desired_tree(
        targeting, creatives, {code: euros * 100 for code in wanted}, account, images.values(), paused
    )
