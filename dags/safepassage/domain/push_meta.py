"""Meta's shape of the shared push plan, and its desired tree. Pure.

Structure, and why:

    ad image     "SP|image|<md5>"        one per image file; Meta names an image by the MD5 of its
                                         bytes, so an upload is its own identity and never repeats.
    campaign     "SP|PL|campaign"        one per country, carrying the country's daily budget
                                         (campaign budget): the allocator decides money per country ×
                                         platform, so one budget carries exactly that amount (1:1 with
                                         the cap check, one budget change per country and run for the
                                         4-changes-an-hour rule) and Meta moves it to the language
                                         that performs. Objective OUTCOME_TRAFFIC: the campaign exists
                                         to bring people to a support organisation's page (the
                                         signposting click), not to be seen.
    ad set       "SP|PL|uk"              one per country × language: targeting (places, the
                                         language's locales, adult ages, Facebook + Instagram,
                                         mobile + desktop) lives on the ad set.
    ad creative  "SP|PL|uk|jobs|c<hash>" one per content version (creatives are immutable).
    ad           "SP|PL|uk|jobs|<hash>"  one per theme's current version; a new version is a new ad
                                         and the old one is deleted.

`special_ad_categories` is mandatory on Meta. The campaign is a social-issue campaign on Meta's own
definition (config/platform_policy.yaml `campaign_is_social_issue`), so it is declared as
ISSUES_ELECTIONS_POLITICS with the country, on top of any category the config lists: declaring it is
what Meta requires, and it is why Meta may not run it in the EU from 6 October 2025 — those
countries are refused by policy and left out here (the plan says so), and the allocator gives their
money to Google.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from pydantic import Field

from safepassage.domain.campaign import Frozen
from safepassage.domain.push import (
    PAUSED,
    PREFIX,
    Kind,
    Node,
    PlatformShape,
    Tree,
    cycle_collection_paused,
    served_countries,
)

MAX_BATCH = 50  # Graph API batch requests
BUDGET_CHANGES_PER_HOUR = 4  # Meta: an ad set or campaign budget changes at most 4 times an hour
ACTIVE = "ACTIVE"
SOCIAL_ISSUE_CATEGORY = "ISSUES_ELECTIONS_POLITICS"
OBJECTIVE = "OUTCOME_TRAFFIC"
OPTIMIZATION_GOAL = "LINK_CLICKS"
PUBLISHER_PLATFORMS = ("facebook", "instagram")
# The keys of an ad set's targeting SafePassage sets, and so compares with what Graph reports.
TARGETING_KEYS = ("geo_locations", "locales", "age_min", "age_max", "publisher_platforms", "device_platforms")
# Where the Digital Services Act makes Meta ask who benefits from an ad and who pays for it.
EU_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # noqa: SIM905
)
KINDS: tuple[Kind, ...] = ("adimage", "campaign", "adset", "adcreative", "ad")
MUTABLE: dict[Kind, tuple[str, ...]] = {
    "adimage": (),
    "campaign": ("status", "daily_budget"),
    "adset": ("status", "targeting", "dsa_beneficiary", "dsa_payor"),
    "adcreative": (),
    "ad": ("status",),
}
_STEP = {
    ("create", "adimage"): 0,
    ("create", "campaign"): 1,
    ("update", "campaign"): 2,
    ("create", "adset"): 3,
    ("update", "adset"): 4,
    ("create", "adcreative"): 5,
    ("remove", "ad"): 6,
    ("create", "ad"): 7,
    ("update", "ad"): 8,
    ("remove", "adset"): 9,
    ("remove", "adcreative"): 10,
}
PENDING = "new:"  # prefix of the name of an object this plan creates; children wait until it exists


def _temporary_name(account: str, kind: Kind, number: int) -> str:
    return f"{PENDING}{kind}:{number}" if number > 0 else str(120_000_000_000_000 - number)


META = PlatformShape(
    platform="meta",
    title="Meta ad account",
    kinds=KINDS,
    mutable=MUTABLE,
    parent_kind={"adset": "campaign", "ad": "adset"},
    steps=_STEP,
    container_kind="campaign",
    kept_kinds=frozenset({"adimage", "adcreative"}),  # shared and harmless; Meta refuses to delete used ones
    budget_kind="campaign",
    budget_field="daily_budget",
    budget_micros_per_unit=10_000,  # minor units (cents) → micros, for approvals and the review
    ad_kind="ad",
    active_status=ACTIVE,
    removed_statuses=frozenset({"DELETED", "ARCHIVED"}),
    temporary_name=_temporary_name,
)


# --- inputs ---------------------------------------------------------------------------------------


class MetaCountryTargeting(Frozen):
    """What the push needs from a targeting snapshot, for one country on Meta."""

    country: str
    weight: float = Field(ge=0)
    locales: dict[str, tuple[int, ...]] = Field(description="language code → Meta ad locale keys")
    geo_locations: dict[str, Any]
    age_min: int = Field(default=18, ge=18)
    age_max: int = Field(default=65, le=65)
    device_platforms: tuple[str, ...] = ("mobile", "desktop")


class MetaImage(Frozen):
    """An image file under creatives/, known by the MD5 of its bytes (Meta's AdImage hash)."""

    name: str
    path: str
    hash: str = Field(pattern=r"^[0-9a-f]{32}$")


class MetaCreative(Frozen):
    """One rendered, checked Meta feed link ad for theme × country × language."""

    theme: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    country: str
    language: str
    primary_text: str
    headline: str
    description: str = ""
    call_to_action: str
    link: str
    image_hash: str = ""
    version_hash: str = ""

    @property
    def content_hash(self) -> str:
        return creative_content_hash(self.link_data())

    def link_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message": self.primary_text,
            "name": self.headline,
            "link": self.link,
            "call_to_action": {"type": self.call_to_action, "value": {"link": self.link}},
        }
        if self.description:
            data["description"] = self.description
        if self.image_hash:
            data["image_hash"] = self.image_hash
        return data


class MetaAccountSettings(Frozen):
    """Per-account facts the Graph API needs that are not targeting: the Page the ads run from and
    the DSA beneficiary and payer (config/push.yaml)."""

    page_id: str = Field(min_length=1)
    dsa_beneficiary: str = Field(min_length=1)
    dsa_payor: str = Field(min_length=1)
    special_ad_categories: tuple[str, ...] = ()
    social_issue: bool = True


def creative_content_hash(link_data: Mapping[str, Any]) -> str:
    """Identity of an ad's content, computed the same from a creative version and from Graph."""
    keys = ("message", "name", "description", "link", "image_hash")
    payload = [str(link_data.get(key) or "") for key in keys]
    payload.append(str((link_data.get("call_to_action") or {}).get("type") or ""))
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:16]


def campaign_name(country: str) -> str:
    return f"{PREFIX}|{country}|campaign"


def ad_set_name(country: str, language: str) -> str:
    return f"{PREFIX}|{country}|{language}"


def image_name(image_hash: str) -> str:
    return f"{PREFIX}|image|{image_hash}"


def creative_name(country: str, language: str, theme: str, content_hash: str) -> str:
    return f"{PREFIX}|{country}|{language}|{theme}|c{content_hash}"


def ad_name(country: str, language: str, theme: str, content_hash: str) -> str:
    return f"{PREFIX}|{country}|{language}|{theme}|{content_hash}"


def managed_targeting(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The part of a targeting spec SafePassage sets (what Graph adds of its own is not compared)."""
    return {key: (spec or {})[key] for key in TARGETING_KEYS if key in (spec or {})}


@cycle_collection_paused()
def desired_tree(
    targeting: Iterable[MetaCountryTargeting],
    creatives: Iterable[MetaCreative],
    budgets_minor: Mapping[str, int],
    settings: MetaAccountSettings,
    images: Iterable[MetaImage] = (),
    paused_countries: Iterable[str] = (),
) -> Tree:
    """What SafePassage wants on one Meta ad account.

    A country is served when targeting gives it weight, it has a budget and creatives exist; a
    language when creatives exist for it. Paused countries (kill switch) keep their tree, PAUSED.
    """
    categories = sorted(
        {*settings.special_ad_categories, *([SOCIAL_ISSUE_CATEGORY] if settings.social_issue else [])}
    )
    tree = Tree(shape=META)
    used_images: set[str] = set()
    for served in served_countries(
        targeting, lambda c: c.locales, creatives, budgets_minor, paused_countries
    ):
        country, code = served.targeting, served.targeting.country
        status = PAUSED if served.paused else ACTIVE
        campaign = campaign_name(code)
        campaign_fields: dict[str, Any] = {
            "name": campaign,
            "status": status,
            "objective": OBJECTIVE,
            "special_ad_categories": categories,
            "daily_budget": int(served.budget),
            "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
        }
        if categories:
            campaign_fields["special_ad_category_country"] = [code]
        tree.add(Node("campaign", campaign, code, campaign_fields))
        for lang, themes in served.creatives.items():
            ad_set = ad_set_name(code, lang)
            spec = {
                "geo_locations": dict(country.geo_locations),
                "locales": sorted(country.locales[lang]),
                "age_min": country.age_min,
                "age_max": country.age_max,
                "publisher_platforms": list(PUBLISHER_PLATFORMS),
                "device_platforms": list(country.device_platforms),
            }
            ad_set_fields: dict[str, Any] = {
                "name": ad_set,
                "status": status,
                "targeting": managed_targeting(spec),
                "optimization_goal": OPTIMIZATION_GOAL,
                "billing_event": "IMPRESSIONS",
                "destination_type": "WEBSITE",
            }
            if code in EU_COUNTRIES:
                ad_set_fields["dsa_beneficiary"] = settings.dsa_beneficiary
                ad_set_fields["dsa_payor"] = settings.dsa_payor
            tree.add(Node("adset", ad_set, code, ad_set_fields, campaign))
            for theme, theme_creatives in themes.items():
                for creative in theme_creatives:
                    content_hash = creative.content_hash
                    links = {}
                    if creative.image_hash:
                        links["adimage"] = image_name(creative.image_hash)
                        used_images.add(creative.image_hash)
                    creative_key = creative_name(code, lang, theme, content_hash)
                    tree.add(
                        Node(
                            "adcreative",
                            creative_key,
                            code,
                            {
                                "name": creative_key,
                                "content_hash": content_hash,
                                "object_story_spec": {
                                    "page_id": settings.page_id,
                                    "link_data": creative.link_data(),
                                },
                                "version_hash": creative.version_hash,
                            },
                            links=links,
                        )
                    )
                    key = ad_name(code, lang, theme, content_hash)
                    tree.add(
                        Node(
                            "ad",
                            key,
                            code,
                            {"name": key, "status": ACTIVE, "content_hash": content_hash},
                            ad_set,
                            links={"adcreative": creative_key},
                        )
                    )
    for image in sorted(images, key=lambda i: i.hash):
        if image.hash in used_images:
            tree.add(
                Node(
                    "adimage",
                    image_name(image.hash),
                    "",
                    {"name": image.name, "hash": image.hash, "path": image.path},
                )
            )
    return tree


def hold_budget_changes(
    desired: Tree, actual: Tree, recent_changes: Mapping[str, int], limit: int = BUDGET_CHANGES_PER_HOUR
) -> tuple[Tree, list[str]]:
    """The desired tree with budget changes that would break Meta's 4-changes-an-hour rule held back
    (the reported budget kept), and a note for each. The plan, its approval and the apply all see the
    held tree, so the apply never sends the change and the next run does.

    `recent_changes`: campaign key → budget changes applied in the last hour (from the apply history).
    """
    held = Tree(dict(desired.nodes), desired.shape)
    notes: list[str] = []
    for node in desired.of_kind(META.budget_kind):
        existing = actual.nodes.get(node.key)
        if existing is None or existing.fields.get("daily_budget") == node.fields.get("daily_budget"):
            continue
        done = recent_changes.get(node.key, 0)
        if done < limit:
            continue
        before, wanted = existing.fields.get("daily_budget"), node.fields.get("daily_budget")
        held.add(replace(node, fields={**node.fields, "daily_budget": before}))
        notes.append(
            f"{node.key}: daily budget stays {before} (wanted {wanted}): changed {done} times in the last "
            f"hour and Meta allows {limit}; a later run sends it"
        )
    return held, notes
