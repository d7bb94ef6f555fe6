"""Inputs for push tests: targeting and creatives for every country × language in the shipped config."""

from __future__ import annotations

from collections.abc import Iterable

from safepassage.domain.campaign import CampaignConfig
from safepassage.domain.push import COLLECTION, CountryTargeting, CreativeForPush, Node, Proximity, Tree

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


def as_reported(tree: Tree, customer_id: str = "1234567890") -> Tree:
    """The tree as GAQL would report it once created: same identities, real resource names."""
    reported = Tree()
    for number, node in enumerate(tree.nodes.values(), start=1):
        reported.add(
            Node(
                node.kind,
                node.key,
                node.country,
                dict(node.fields),
                node.parent,
                f"customers/{customer_id}/{COLLECTION[node.kind]}/{number}",
            )
        )
    return reported
