"""Key judgement + campaign configuration → platform targeting, per country × platform.

Pure: no I/O. The result is what budgets and the push read:

    Targeting.countries[i]                      one per country in config/countries.yaml
        .code, .basis ("judgement" | "baseline"), .weight (sums to 1 over targeted countries)
        .platforms[j]                           one per platform (google_ads, meta)
            .status ("targeted" | "refused"), .refusals (why), .weight (sums to 1 over targeted)
            .geo, .languages, .age, .devices, .placements   platform-native criteria

Targeting only ever uses places, languages and a broad adult age range. The policy guard refuses
anything else (interests, behaviours, audiences, inferred vulnerability, ethnicity, religion,
health, sexual orientation, political views, minors) and records why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from safepassage.domain.campaign import CampaignConfig, Country, Frozen, Platform
from safepassage.domain.intelligence import (
    Confidence,
    CountryAssessment,
    Hotspot,
    KeyJudgement,
    RiskLevel,
)

ADULT_MINIMUM_AGE = 18
META_AGE_MAX = 65  # Meta's top value, meaning "65+"
GOOGLE_ADULT_AGE_RANGES = (
    "AGE_RANGE_18_24",
    "AGE_RANGE_25_34",
    "AGE_RANGE_35_44",
    "AGE_RANGE_45_54",
    "AGE_RANGE_55_64",
    "AGE_RANGE_65_UP",
)
# 92% of the 2022 campaign's traffic was mobile: bid mobile up, desktop down; never exclude a device.
GOOGLE_DEVICE_BID_MODIFIERS = {"MOBILE": 1.2, "TABLET": 1.0, "DESKTOP": 0.8}
META_DEVICE_PLATFORMS = ("mobile", "desktop")
GOOGLE_NETWORKS = {
    "target_google_search": True,
    "target_search_network": True,
    "target_content_network": False,
}
META_PLACEMENTS = {
    "publisher_platforms": ["facebook", "instagram", "messenger"],
    "facebook_positions": ["feed", "story", "marketplace", "search"],
    "instagram_positions": ["stream", "story", "reels", "explore"],
    "messenger_positions": ["story"],
}

RISK_FACTOR = {RiskLevel.VERY_HIGH: 1.0, RiskLevel.HIGH: 0.7, RiskLevel.MODERATE: 0.45, RiskLevel.LOW: 0.25}
CONFIDENCE_FACTOR = {Confidence.HIGH: 1.0, Confidence.MODERATE: 0.8, Confidence.LOW: 0.6}
# A country the campaign runs in but the judgement does not mention keeps a low, always-on
# presence so signposting never disappears there: about a fifth of a low-risk, ~10k-people country.
BASELINE_SCORE = 0.03


class Basis(StrEnum):
    JUDGEMENT = "judgement"
    BASELINE = "baseline"


class Refusal(Frozen):
    code: str = Field(description="platform_disabled | policy_rule:<restriction> | policy_guard:<category>")
    reason: str


class PlatformTargeting(Frozen):
    platform: Platform
    status: Literal["targeted", "refused"]
    refusals: tuple[Refusal, ...] = ()
    weight: float = Field(ge=0, le=1)
    geo: dict[str, Any] = Field(default_factory=dict)
    languages: dict[str, Any] = Field(default_factory=dict)
    age: dict[str, Any] = Field(default_factory=dict)
    devices: dict[str, Any] = Field(default_factory=dict)
    placements: dict[str, Any] = Field(default_factory=dict)


class GuardDecision(Frozen):
    """A targeting request the guard refused (e.g. an analyst's audience hint), and why."""

    country: str
    request: str
    category: str
    reason: str


class CountryTargeting(Frozen):
    code: str
    name: str
    basis: Basis
    risk_level: str | None
    people_on_the_move: int | None
    score: float = Field(ge=0)
    weight: float = Field(ge=0, le=1)
    language_codes: tuple[str, ...]
    hotspots: tuple[Hotspot, ...] = ()
    risk_themes: tuple[str, ...] = ()
    sectors_at_risk: tuple[str, ...] = ()
    platforms: tuple[PlatformTargeting, ...]


class Targeting(Frozen):
    as_of: dt.date
    judgement_id: str | None
    judgement_hash: str | None
    countries: tuple[CountryTargeting, ...]
    guard: tuple[GuardDecision, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def content_hash(self) -> str:
        """Same judgement, config and policy outcome → same hash, whatever day it was derived on."""
        content = self.as_json()
        content.pop("as_of")
        return stable_hash(content)


def stable_hash(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def judgement_hash(judgement: KeyJudgement) -> str:
    return stable_hash(judgement.model_dump(mode="json"))


# --- policy guard ------------------------------------------------------------------------------

SENSITIVE_TERMS: dict[str, tuple[str, ...]] = {
    "minors": ("minor", "child", "teen", "under 18", "under-18", "unaccompanied", "school", "kid"),
    "vulnerability": (
        "refugee", "asylum", "migrant", "displaced", "victim", "vulnerab", "poverty", "low income",
        "low-income", "homeless", "unemployed", "debt", "trafficked", "single mother", "widow",
    ),
    "ethnicity": ("ethnic", "roma", "race", "racial", "nationality", "diaspora", "heritage", "expat"),
    "religion": ("relig", "orthodox", "catholic", "muslim", "jewish", "church", "faith"),
    "health": ("health", "disab", "pregnan", "illness", "mental", "trauma", "hiv", "medical"),
    "sexual_orientation": (
        "lgbt", "gay", "lesbian", "bisexual", "transgender", "queer", "sexual orientation",
    ),
    "political_views": ("politic", "party", "activist", "protest", "vote", "opposition"),
}  # fmt: skip
SENSITIVE_PHRASES = {
    "minors": "targeting minors (or audiences defined by children)",
    "vulnerability": "targeting by inferred vulnerability or circumstances",
    "ethnicity": "targeting by ethnicity or national origin",
    "religion": "targeting by religion",
    "health": "targeting by health",
    "sexual_orientation": "targeting by sexual orientation",
    "political_views": "targeting by political views",
}
FORBIDDEN_SPEC_KEYS = {
    "interests", "behaviors", "flexible_spec", "exclusions", "custom_audiences", "excluded_custom_audiences",
    "life_events", "family_statuses", "income", "industries", "work_positions", "relationship_statuses",
    "education_statuses", "genders", "user_interests", "user_lists", "audiences", "parental_statuses",
    "income_ranges", "topics", "keywords_audience", "detailed_targeting",
}  # fmt: skip
ALLOWED_SPEC_KEYS = {
    Platform.GOOGLE_ADS: {
        "location_ids", "proximities", "language_ids", "age_ranges", "bid_modifiers", "networks",
    },
    Platform.META: {
        "countries", "custom_locations", "location_types", "locales", "age_min", "age_max",
        "device_platforms", "publisher_platforms", "facebook_positions", "instagram_positions",
        "messenger_positions",
    },
}  # fmt: skip


def classify_request(text: str) -> str:
    """The sensitive category a free-text audience request falls in, else interest_or_behaviour."""
    lowered = text.lower()
    for category, terms in SENSITIVE_TERMS.items():
        if any(term in lowered for term in terms):
            return category
    return "interest_or_behaviour"


def refuse_audience_hint(country: str, hint: str) -> GuardDecision:
    category = classify_request(hint)
    if category == "interest_or_behaviour":
        reason = (
            "SafePassage targets places, languages and broad adult ages only; "
            "no interest or behaviour targeting"
        )
    else:
        reason = (
            f"{SENSITIVE_PHRASES[category]} is forbidden by both platforms' policies and by SafePassage: "
            "nothing may be inferred about the people the ads reach"
        )
    return GuardDecision(country=country, request=hint, category=category, reason=reason)


def guard_violations(entry: PlatformTargeting, minimum_age: int = ADULT_MINIMUM_AGE) -> list[Refusal]:
    """Everything in a derived platform spec that the policy guard forbids (empty when clean)."""
    floor = max(ADULT_MINIMUM_AGE, minimum_age)
    problems: list[Refusal] = []
    sections = (entry.geo, entry.languages, entry.age, entry.devices, entry.placements)
    keys = {key for section in sections for key in section}
    for key in sorted(keys & FORBIDDEN_SPEC_KEYS):
        problems.append(
            Refusal(code="policy_guard:interest_or_behaviour", reason=f"{key!r} targeting is never used")
        )
    for key in sorted(keys - FORBIDDEN_SPEC_KEYS - ALLOWED_SPEC_KEYS[entry.platform]):
        problems.append(
            Refusal(code="policy_guard:unknown_criterion", reason=f"{key!r} is not an allowed criterion")
        )
    if entry.platform == Platform.META:
        age_min = entry.age.get("age_min", floor)
        if not isinstance(age_min, int) or age_min < floor:
            problems.append(Refusal(code="policy_guard:minors", reason=f"age_min {age_min} is below {floor}"))
        if entry.age.get("age_max", META_AGE_MAX) != META_AGE_MAX:
            problems.append(
                Refusal(code="policy_guard:narrow_age", reason="age ranges stay broad: up to 65+")
            )
    else:
        ranges = tuple(entry.age.get("age_ranges", ()))
        if any(r not in GOOGLE_ADULT_AGE_RANGES for r in ranges):
            problems.append(
                Refusal(code="policy_guard:minors", reason=f"age ranges {ranges} include non-adults")
            )
        if floor == ADULT_MINIMUM_AGE and set(ranges) != set(GOOGLE_ADULT_AGE_RANGES):
            problems.append(Refusal(code="policy_guard:narrow_age", reason="age ranges stay broad: 18-65+"))
    return problems


# --- derivation --------------------------------------------------------------------------------


def people_factor(people: int) -> float:
    """Diminishing returns: 10k → 0.57, 100k → 0.71, 1M → 0.86, 3M → 0.93 (log10 / 7)."""
    return min(1.0, max(0.1, math.log10(people + 10) / 7))


def country_score(assessment: CountryAssessment | None, confidence: Confidence | None) -> float:
    if assessment is None or confidence is None:
        return BASELINE_SCORE
    return (
        RISK_FACTOR[assessment.risk_level]
        * people_factor(assessment.people_on_the_move.value)
        * CONFIDENCE_FACTOR[confidence]
    )


def derive_targeting(config: CampaignConfig, judgement: KeyJudgement | None, on: dt.date) -> Targeting:
    """Targeting for day `on` from the judgement in force (None: baseline everywhere)."""
    guard: list[GuardDecision] = []
    drafts: list[tuple[Country, CountryAssessment | None, list[PlatformTargeting], float]] = []
    for country in config.countries:
        assessment = judgement.countries.get(country.code) if judgement else None
        if assessment is not None:
            guard.extend(refuse_audience_hint(country.code, hint) for hint in assessment.audience_hints)
        entries = [_platform_entry(config, country, assessment, platform, on) for platform in Platform]
        score = country_score(assessment, judgement.confidence if judgement else None)
        drafts.append((country, assessment, entries, score))

    total = sum(score for _, _, entries, score in drafts if _targeted(entries))
    countries: list[CountryTargeting] = []
    for country, assessment, entries, score in drafts:
        targeted = [e for e in entries if e.status == "targeted"]
        weight = score / total if targeted and total > 0 else 0.0
        share = weight / len(targeted) if targeted else 0.0
        countries.append(
            CountryTargeting(
                code=country.code,
                name=country.name,
                basis=Basis.JUDGEMENT if assessment else Basis.BASELINE,
                risk_level=assessment.risk_level.value if assessment else None,
                people_on_the_move=assessment.people_on_the_move.value if assessment else None,
                score=round(score, 8),
                weight=round(weight, 8),
                language_codes=_languages(config, country, assessment),
                hotspots=assessment.hotspots if assessment else (),
                risk_themes=tuple(t.value for t in assessment.risk_themes) if assessment else (),
                sectors_at_risk=assessment.sectors_at_risk if assessment else (),
                platforms=tuple(
                    e.model_copy(update={"weight": round(share, 8) if e.status == "targeted" else 0.0})
                    for e in entries
                ),
            )
        )
    return Targeting(
        as_of=on,
        judgement_id=judgement.id if judgement else None,
        judgement_hash=judgement_hash(judgement) if judgement else None,
        countries=tuple(countries),
        guard=tuple(guard),
    )


def _targeted(entries: list[PlatformTargeting]) -> bool:
    return any(entry.status == "targeted" for entry in entries)


def _languages(
    config: CampaignConfig, country: Country, assessment: CountryAssessment | None
) -> tuple[str, ...]:
    wanted = assessment.languages if assessment else country.languages
    return tuple(code for code in wanted if code in config.language_by_code)


def _platform_entry(
    config: CampaignConfig,
    country: Country,
    assessment: CountryAssessment | None,
    platform: Platform,
    on: dt.date,
) -> PlatformTargeting:
    defaults = config.policy.platforms.get(platform)
    minimum_age = max(ADULT_MINIMUM_AGE, defaults.minimum_age if defaults else ADULT_MINIMUM_AGE)
    hotspots = assessment.hotspots if assessment else ()
    languages = [config.language(code) for code in _languages(config, country, assessment)]
    if platform == Platform.GOOGLE_ADS:
        entry = PlatformTargeting(
            platform=platform,
            status="targeted",
            weight=0.0,
            geo={
                # Hotspot radii replace the country criterion: the country would swallow them.
                "location_ids": [] if hotspots else [country.google_geo_target_id],
                "proximities": [
                    {
                        "name": h.name,
                        "lat": h.lat,
                        "lon": h.lon,
                        "radius": h.radius_km,
                        "radius_units": "KILOMETERS",
                    }
                    for h in hotspots
                ],
            },
            languages={"language_ids": [lang.google_language_id for lang in languages]},
            age={"age_ranges": list(_google_age_ranges(minimum_age))},
            devices={"bid_modifiers": dict(GOOGLE_DEVICE_BID_MODIFIERS)},
            placements={"networks": dict(GOOGLE_NETWORKS)},
        )
    else:
        geo: dict[str, Any] = (
            {
                "custom_locations": [
                    {"name": h.name, "latitude": h.lat, "longitude": h.lon, "radius": h.radius_km,
                     "distance_unit": "kilometer"}
                    for h in hotspots
                ],
                "location_types": ["home", "recent"],
            }
            if hotspots
            else {"countries": [country.meta_country_code], "location_types": ["home", "recent"]}
        )  # fmt: skip
        entry = PlatformTargeting(
            platform=platform,
            status="targeted",
            weight=0.0,
            geo=geo,
            languages={"locales": sorted({i for lang in languages for i in lang.meta_locale_ids})},
            age={"age_min": minimum_age, "age_max": META_AGE_MAX},
            devices={"device_platforms": list(META_DEVICE_PLATFORMS)},
            placements={key: list(value) for key, value in META_PLACEMENTS.items()},
        )
    refusals: list[Refusal] = []
    if defaults is None or not defaults.enabled:
        refusals.append(
            Refusal(
                code="platform_disabled",
                reason=f"{platform.value} is disabled in config/platform_policy.yaml",
            )
        )
    for rule in config.policy.restrictions(platform, country.code, on):
        refusals.append(
            Refusal(
                code=f"policy_rule:{rule.restriction}",
                reason=f"{rule.reason} (config/platform_policy.yaml, in force from {rule.effective_from})",
            )
        )
    refusals.extend(guard_violations(entry, minimum_age))
    if refusals:
        return entry.model_copy(update={"status": "refused", "refusals": tuple(refusals)})
    return entry


def _google_age_ranges(minimum_age: int) -> tuple[str, ...]:
    lower_bounds = {"AGE_RANGE_18_24": 18, "AGE_RANGE_25_34": 25, "AGE_RANGE_35_44": 35,
                    "AGE_RANGE_45_54": 45, "AGE_RANGE_55_64": 55, "AGE_RANGE_65_UP": 65}  # fmt: skip
    return tuple(r for r in GOOGLE_ADULT_AGE_RANGES if lower_bounds[r] >= minimum_age)


def render_targeting(targeting: Targeting) -> str:
    """One line per country: weight, basis, places, languages, platforms; then refusals and guard."""
    source = targeting.judgement_id or "no judgement in force (baseline everywhere)"
    lines = [f"Targeting as of {targeting.as_of} from {source}", ""]
    table = [("country", "weight", "basis", "risk", "places", "languages", "google_ads", "meta")]
    for country in targeting.countries:
        status = {p.platform: p.status for p in country.platforms}
        table.append(
            (
                country.code,
                f"{country.weight:.4f}",
                country.basis.value,
                country.risk_level or "-",
                f"{len(country.hotspots)} hotspot(s)" if country.hotspots else "whole country",
                ",".join(country.language_codes),
                status.get(Platform.GOOGLE_ADS, "-"),
                status.get(Platform.META, "-"),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for index, row in enumerate(table):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    reasons: dict[str, list[str]] = {}
    for country in targeting.countries:
        for platform in country.platforms:
            for refusal in platform.refusals:
                reasons.setdefault(f"{platform.platform.value}: {refusal.reason}", []).append(country.code)
    if reasons:
        lines += ["", "Refused:"]
        lines += [f"  {reason} [{', '.join(codes)}]" for reason, codes in reasons.items()]
    if targeting.guard:
        lines += ["", "Policy guard refused these audience hints:"]
        lines += [f"  {g.country}: {g.request!r} ({g.category}): {g.reason}" for g in targeting.guard]
    return "\n".join(lines)


# --- review: what changed since the previous snapshot ------------------------------------------


def diff_targeting(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    """Changes between two `Targeting.as_json()` documents (previous None: everything is new)."""
    before = {c["code"]: c for c in (previous or {}).get("countries", [])}
    after = {c["code"]: c for c in current.get("countries", [])}

    def targeted(country: dict[str, Any] | None) -> set[str]:
        if not country:
            return set()
        return {p["platform"] for p in country["platforms"] if p["status"] == "targeted"}

    countries: list[dict[str, Any]] = []
    for code in sorted(before.keys() | after.keys()):
        old, new = before.get(code), after.get(code)
        old_spots = {h["name"] for h in (old or {}).get("hotspots", [])}
        new_spots = {h["name"] for h in (new or {}).get("hotspots", [])}
        old_langs = set((old or {}).get("language_codes", []))
        new_langs = set((new or {}).get("language_codes", []))
        old_weight = float((old or {}).get("weight", 0.0))
        new_weight = float((new or {}).get("weight", 0.0))
        row = {
            "country": code,
            "platforms_added": sorted(targeted(new) - targeted(old)),
            "platforms_removed": sorted(targeted(old) - targeted(new)),
            "basis": [(old or {}).get("basis"), (new or {}).get("basis")],
            "hotspots_added": sorted(new_spots - old_spots),
            "hotspots_removed": sorted(old_spots - new_spots),
            "languages_added": sorted(new_langs - old_langs),
            "languages_removed": sorted(old_langs - new_langs),
            "weight_before": round(old_weight, 6),
            "weight_after": round(new_weight, 6),
            "weight_delta": round(new_weight - old_weight, 6),
        }
        row["changed"] = bool(
            row["platforms_added"] or row["platforms_removed"] or row["hotspots_added"]
            or row["hotspots_removed"] or row["languages_added"] or row["languages_removed"]
            or abs(row["weight_delta"]) >= 5e-7 or row["basis"][0] != row["basis"][1]
        )  # fmt: skip
        countries.append(row)
    return {
        "previous_judgement_id": (previous or {}).get("judgement_id"),
        "judgement_id": current.get("judgement_id"),
        "countries_added": sorted(c for c in after if targeted(after[c]) and not targeted(before.get(c))),
        "countries_removed": sorted(c for c in before if targeted(before[c]) and not targeted(after.get(c))),
        "countries": countries,
    }


def render_diff(diff: dict[str, Any]) -> str:
    """The diff as a fixed-width table for the task log (changed countries only)."""
    previous = diff.get("previous_judgement_id") or "(none)"
    header = f"Targeting change: {previous} → {diff.get('judgement_id') or 'baseline'}"
    lines = [header]
    if diff["countries_added"] or diff["countries_removed"]:
        lines.append(
            f"countries added: {', '.join(diff['countries_added']) or '-'}; "
            f"removed: {', '.join(diff['countries_removed']) or '-'}"
        )
    rows = [row for row in diff["countries"] if row["changed"]]
    if not rows:
        lines.append("no change per country")
        return "\n".join(lines)
    columns = ("country", "weight before", "after", "delta", "platforms", "hotspots", "languages")
    table = [columns]
    for row in rows:
        table.append(
            (
                row["country"],
                f"{row['weight_before']:.4f}",
                f"{row['weight_after']:.4f}",
                f"{row['weight_delta']:+.4f}",
                _changes(row["platforms_added"], row["platforms_removed"]),
                f"+{len(row['hotspots_added'])} -{len(row['hotspots_removed'])}"
                if row["hotspots_added"] or row["hotspots_removed"]
                else "-",
                _changes(row["languages_added"], row["languages_removed"]),
            )
        )
    widths = [max(len(str(line[i])) for line in table) for i in range(len(columns))]
    for index, line in enumerate(table):
        lines.append("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    spots = [row for row in rows if row["hotspots_added"] or row["hotspots_removed"]]
    if spots:
        lines.append("hotspots:")
        lines.extend(
            f"  {row['country']}: {_changes(row['hotspots_added'], row['hotspots_removed'])}" for row in spots
        )
    return "\n".join(lines)


def _changes(added: list[str], removed: list[str]) -> str:
    parts = [f"+{item}" for item in added] + [f"-{item}" for item in removed]
    return ", ".join(parts) or "-"


@dataclass(frozen=True)
class StoredSnapshot:
    """A targeting snapshot as the warehouse holds it (content_hash is chained with its predecessor's)."""

    id: int
    content_hash: str
    targeting: dict[str, Any]


@dataclass(frozen=True)
class StoredJudgement:
    """A key judgement as the store holds it, before it is parsed again."""

    id: str
    source_name: str | None
    document: dict[str, Any]
