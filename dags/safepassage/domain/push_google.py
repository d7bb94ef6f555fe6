"""Google Ads's shape of the shared push plan, and its desired tree. Pure.

Structure, and why:

    campaign budget  "SP|PL|budget"        one per country, shared by its campaigns: the allocator
                                           decides money per country × platform, so one budget
                                           carries exactly that amount and the cap check is 1:1.
    campaign         "SP|PL|uk"            one per country × language. Google targets languages
                                           at campaign level only, so a campaign per language is
                                           the only way a Ukrainian ad reaches Ukrainian speakers
                                           and not Polish ones. Criteria: location or proximity
                                           hotspots + the one language.
    ad group         "SP|PL|uk|jobs"       one per theme served there.
    ad               RSA, identified by the hash of its content (ads are immutable on Google:
                     a new creative version is a new ad; the old one is removed).

Names are the identity: deterministic, human-readable, re-derived on every run and matched with
what GAQL reports, so a re-run (even after a response was lost) converges instead of duplicating.
Campaigns are never removed (a removed campaign keeps its name forever): a country or language
that leaves the plan is PAUSED, and comes back by being enabled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import Field

from safepassage.domain.campaign import Frozen
from safepassage.domain.push import (
    ENABLED,
    PAUSED,
    PREFIX,
    Kind,
    Node,
    PlanOperation,
    PlatformShape,
    Tree,
    cycle_collection_paused,
    served_countries,
)
from safepassage.domain.push import batches as pack_by_country

MAX_OPERATIONS_PER_REQUEST = 10_000
EU_POLITICAL_DECLARATION = "DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING"

KIND_ORDER: tuple[Kind, ...] = (
    "campaign_budget",
    "campaign",
    "campaign_criterion",
    "ad_group",
    "ad_group_ad",
)
COLLECTION = {
    "campaign_budget": "campaignBudgets",
    "campaign": "campaigns",
    "campaign_criterion": "campaignCriteria",
    "ad_group": "adGroups",
    "ad_group_ad": "adGroupAds",
}
MUTABLE: dict[str, tuple[str, ...]] = {
    "campaign_budget": ("amount_micros",),
    "campaign": ("status", "contains_eu_political_advertising"),
    "campaign_criterion": (),
    "ad_group": ("status",),
    "ad_group_ad": ("status",),
}
_STEP = {
    ("create", "campaign_budget"): 0,
    ("update", "campaign_budget"): 1,
    ("create", "campaign"): 2,
    ("update", "campaign"): 3,
    ("remove", "campaign_criterion"): 4,
    ("create", "campaign_criterion"): 5,
    ("create", "ad_group"): 6,
    ("update", "ad_group"): 7,
    ("remove", "ad_group_ad"): 8,
    ("create", "ad_group_ad"): 9,
    ("update", "ad_group_ad"): 10,
    ("remove", "ad_group"): 11,
}

GOOGLE_ADS = PlatformShape(
    platform="google_ads",
    title="Google Ads account",
    kinds=KIND_ORDER,
    mutable=MUTABLE,
    parent_kind={
        "campaign": "campaign_budget",
        "campaign_criterion": "campaign",
        "ad_group": "campaign",
        "ad_group_ad": "ad_group",
    },
    steps=_STEP,
    container_kind="campaign",
    kept_kinds=frozenset({"campaign_budget"}),
    budget_kind="campaign_budget",
    budget_field="amount_micros",
    budget_micros_per_unit=1,
    ad_kind="ad_group_ad",
    active_status=ENABLED,
    removed_statuses=frozenset({"REMOVED"}),
    # Negative ids are temporary resource names: children created in the same Mutate refer to them.
    temporary_name=lambda customer, kind, n: f"customers/{customer}/{COLLECTION[kind]}/{-n}",
    unnamed_creates=frozenset({"campaign_criterion", "ad_group_ad"}),
)


# --- inputs ---------------------------------------------------------------------------------------


class Proximity(Frozen):
    lat: float
    lon: float
    radius_km: float

    def key(self) -> str:
        return f"{self.lat:.5f},{self.lon:.5f},{self.radius_km:g}km"


class CountryTargeting(Frozen):
    """What the push needs from a targeting snapshot, for one country on Google Ads."""

    country: str
    weight: float = Field(ge=0)
    languages: dict[str, int] = Field(description="language code → Google language constant id")
    location_ids: tuple[int, ...] = ()
    proximities: tuple[Proximity, ...] = ()


class CreativeForPush(Frozen):
    """One rendered, checked responsive search ad for theme × country × language."""

    theme: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    country: str
    language: str
    headlines: tuple[str, ...]
    descriptions: tuple[str, ...]
    final_url: str
    path1: str = ""
    path2: str = ""
    version_hash: str = ""  # the creative pipeline's own content hash, for the audit trail

    @property
    def content_hash(self) -> str:
        return ad_content_hash(self.headlines, self.descriptions, self.final_url, self.path1, self.path2)


def ad_content_hash(
    headlines: Sequence[str], descriptions: Sequence[str], final_url: str, path1: str, path2: str
) -> str:
    """Identity of an ad from what it shows, computed the same from a creative and from GAQL."""
    payload = json.dumps([list(headlines), list(descriptions), final_url, path1, path2], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# --- the tree -------------------------------------------------------------------------------------


def budget_name(country: str) -> str:
    return f"{PREFIX}|{country}|budget"


def campaign_name(country: str, language: str) -> str:
    return f"{PREFIX}|{country}|{language}"


def ad_group_name(country: str, language: str, theme: str) -> str:
    return f"{PREFIX}|{country}|{language}|{theme}"


def criterion_key(campaign: str, criterion: Mapping[str, Any]) -> str:
    if criterion["type"] == "LOCATION":
        return f"{campaign}#loc:{criterion['geo_target_id']}"
    if criterion["type"] == "LANGUAGE":
        return f"{campaign}#lang:{criterion['language_id']}"
    return f"{campaign}#near:{Proximity(**criterion['proximity']).key()}"


def ad_key(ad_group: str, content_hash: str) -> str:
    return f"{ad_group}#ad:{content_hash}"


@cycle_collection_paused()
def desired_tree(
    targeting: Iterable[CountryTargeting],
    creatives: Iterable[CreativeForPush],
    budgets_micros: Mapping[str, int],
    paused_countries: Iterable[str] = (),
) -> Tree:
    """What SafePassage wants on one Google Ads account.

    A country is served when targeting gives it weight, it has a budget and creatives exist; a
    language when creatives exist for it. Paused countries (kill switch) keep their tree, PAUSED.
    """
    tree = Tree(shape=GOOGLE_ADS)
    for served in served_countries(
        targeting, lambda c: c.languages, creatives, budgets_micros, paused_countries
    ):
        country, code = served.targeting, served.targeting.country
        status = PAUSED if served.paused else ENABLED
        budget = budget_name(code)
        tree.add(Node("campaign_budget", budget, code, {"name": budget, "amount_micros": served.budget}))
        for lang, themes in served.creatives.items():
            campaign = campaign_name(code, lang)
            tree.add(
                Node(
                    "campaign",
                    campaign,
                    code,
                    {
                        "name": campaign,
                        "status": status,
                        "contains_eu_political_advertising": EU_POLITICAL_DECLARATION,
                    },
                    parent=budget,
                )
            )
            criteria: list[dict[str, Any]] = [
                {"type": "LOCATION", "geo_target_id": geo_id} for geo_id in sorted(set(country.location_ids))
            ]
            criteria += [
                {"type": "PROXIMITY", "proximity": p.model_dump()}
                for p in sorted(set(country.proximities), key=Proximity.key)
            ]
            criteria.append({"type": "LANGUAGE", "language_id": country.languages[lang]})
            for criterion in criteria:
                tree.add(
                    Node("campaign_criterion", criterion_key(campaign, criterion), code, criterion, campaign)
                )
            for theme, theme_creatives in themes.items():
                group = ad_group_name(code, lang, theme)
                tree.add(Node("ad_group", group, code, {"name": group, "status": ENABLED}, campaign))
                for creative in theme_creatives:
                    tree.add(
                        Node(
                            "ad_group_ad",
                            ad_key(group, creative.content_hash),
                            code,
                            {
                                "status": ENABLED,
                                "content_hash": creative.content_hash,
                                "headlines": list(creative.headlines),
                                "descriptions": list(creative.descriptions),
                                "final_url": creative.final_url,
                                "path1": creative.path1,
                                "path2": creative.path2,
                                "version_hash": creative.version_hash,
                            },
                            group,
                        )
                    )
    return tree


def batches(
    operations: Sequence[PlanOperation], limit: int = MAX_OPERATIONS_PER_REQUEST
) -> list[list[PlanOperation]]:
    """Mutate requests of ≤ 10,000 operations, a country's subtree never split (temporary names)."""
    return pack_by_country(operations, limit)
