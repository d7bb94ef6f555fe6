"""Key judgements: what the intelligence team publishes, and the rules a judgement must follow.

A judgement is pure data; validation against the campaign configuration (known countries and
languages, hotspots inside their country, radii the platforms accept, non-overlapping validity
windows) lives here too, as plain functions that return findings with the field they concern.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import Field, HttpUrl, ValidationInfo, field_validator, model_validator

from safepassage.domain.campaign import CampaignConfig, CountryCode, Frozen, LanguageCode

SCHEMA_ID = "https://safepassage.invalid/schema/key-judgement.schema.json"

# Radius limits in km, the intersection of what both platforms accept for one hotspot:
# Google Ads proximity criteria (ProximityInfo) take 1-800 km (1-500 mi) in the Google Ads UI
# help; Meta `custom_locations` around a latitude/longitude take 1-80 km (0.63-50 mi).
PLATFORM_RADIUS_KM = {"google_ads": (1.0, 800.0), "meta": (1.0, 80.0)}
MIN_RADIUS_KM = max(low for low, _ in PLATFORM_RADIUS_KM.values())
MAX_RADIUS_KM = min(high for _, high in PLATFORM_RADIUS_KM.values())

# Generous bounding boxes (south, west, north, east) per campaign country, enough to catch a
# swapped latitude/longitude or a hotspot filed under the wrong country. Mainland territory only
# (Spain includes the Canaries).
COUNTRY_BOUNDS: dict[str, tuple[float, float, float, float]] = {
    "UA": (44.3, 22.1, 52.4, 40.3),
    "PL": (49.0, 14.1, 54.9, 24.2),
    "RO": (43.6, 20.2, 48.3, 29.8),
    "MD": (45.4, 26.6, 48.5, 30.2),
    "HU": (45.7, 16.1, 48.6, 22.9),
    "SK": (47.7, 16.8, 49.7, 22.6),
    "CZ": (48.5, 12.0, 51.1, 18.9),
    "DE": (47.2, 5.8, 55.1, 15.1),
    "AT": (46.3, 9.5, 49.1, 17.2),
    "BG": (41.2, 22.3, 44.3, 28.7),
    "LT": (53.8, 20.9, 56.5, 26.9),
    "LV": (55.6, 20.9, 58.1, 28.3),
    "EE": (57.5, 21.7, 59.7, 28.3),
    "IT": (35.4, 6.6, 47.1, 18.6),
    "ES": (27.6, -18.2, 43.8, 4.4),
    "FR": (41.3, -5.2, 51.1, 9.6),
    "NL": (50.7, 3.3, 53.6, 7.3),
    "IE": (51.4, -10.5, 55.4, -6.0),
    "GB": (49.8, -8.7, 60.9, 1.8),
}


class Confidence(StrEnum):
    """Analytic confidence in the judgement as a whole (how far the sources support it)."""

    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"


class RiskLevel(StrEnum):
    VERY_HIGH = "very_high"
    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"


class HotspotKind(StrEnum):
    BORDER_CROSSING = "border_crossing"
    TRANSIT_HUB = "transit_hub"
    RECEPTION_CENTRE = "reception_centre"
    CITY = "city"


class RiskTheme(StrEnum):
    FRAUDULENT_JOB_OFFERS = "fraudulent_job_offers"
    TRANSPORT_OFFERS = "transport_offers"
    ACCOMMODATION_OFFERS = "accommodation_offers"
    ONLINE_RECRUITMENT = "online_recruitment"
    SEXUAL_EXPLOITATION = "sexual_exploitation"
    DEBT_BONDAGE = "debt_bondage"
    DOCUMENT_FRAUD = "document_fraud"
    RETURN_JOURNEYS = "return_journeys"


class FigureBasis(StrEnum):
    PUBLISHED = "published"  # taken from the cited source
    ESTIMATE = "estimate"  # the team's estimate from the cited sources
    ILLUSTRATIVE = "illustrative"  # a placeholder for demonstration, not a real figure


SourceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class Source(Frozen):
    id: SourceId
    title: str = Field(min_length=3)
    url: HttpUrl = Field(description="a public URL anyone on the partner network can open")


class PeopleFigure(Frozen):
    """People on the move: arrivals, border crossings or people present, as the note says."""

    value: int = Field(ge=0)
    basis: FigureBasis
    source: SourceId | None = Field(default=None, description="id of an entry in `sources`")
    note: str = Field(default="", description="what the figure counts and as of when")

    @model_validator(mode="after")
    def _sourced_unless_illustrative(self) -> PeopleFigure:
        if self.basis != FigureBasis.ILLUSTRATIVE and self.source is None:
            raise ValueError(f"a {self.basis.value} figure needs a `source` (or basis: illustrative)")
        return self


class Hotspot(Frozen):
    name: str = Field(min_length=2)
    kind: HotspotKind
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0, description=f"{MIN_RADIUS_KM:g}-{MAX_RADIUS_KM:g} km (platform limits)")


class CountryAssessment(Frozen):
    risk_level: RiskLevel
    people_on_the_move: PeopleFigure
    hotspots: tuple[Hotspot, ...] = ()
    languages: tuple[LanguageCode, ...] = Field(
        min_length=1, description="languages the people on the move speak, most spoken first"
    )
    risk_themes: tuple[RiskTheme, ...] = Field(min_length=1)
    sectors_at_risk: tuple[str, ...] = ()
    audience_hints: tuple[str, ...] = Field(
        default=(),
        description="audiences an analyst suggests; never targeted, each is refused by the policy guard "
        "with the reason recorded in the targeting snapshot",
    )
    notes: str = ""


class KeyJudgement(Frozen):
    """One published key judgement. `valid_until` is the last day it applies (inclusive)."""

    model_config = Frozen.model_config | {
        "json_schema_extra": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_ID,
            "title": "SafePassage key judgement",
        }
    }

    id: str = Field(pattern=r"^kj-[0-9]{4}-[0-9]{2}-[0-9]{2}(-[a-z0-9-]+)?$")
    title: str = Field(min_length=5)
    issued: dt.date
    valid_from: dt.date
    valid_until: dt.date
    analyst: str = Field(
        min_length=3,
        pattern=r"\b([Tt]eam|TEAM|[Uu]nit|[Dd]esk|[Cc]ell|[Gg]roup|[Aa]nalysts?)\b",
        description="the issuing team or role, never a person's name",
    )
    confidence: Confidence
    summary: str = Field(min_length=10)
    sources: tuple[Source, ...] = Field(description="at least one public source (title + URL)")
    countries: dict[CountryCode, CountryAssessment] = Field(min_length=1)

    @field_validator("valid_until")
    @classmethod
    def _window_not_reversed(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("valid_from")
        if start is not None and value < start:
            raise ValueError(f"valid_until {value} is before valid_from {start}")
        return value

    @field_validator("sources")
    @classmethod
    def _sourced(cls, value: tuple[Source, ...]) -> tuple[Source, ...]:
        if not value:
            raise ValueError("missing source: a judgement cites at least one public source (title + url)")
        return value

    def in_force(self, on: dt.date) -> bool:
        return self.valid_from <= on <= self.valid_until


@dataclass(frozen=True)
class Finding:
    """A rule a judgement breaks; `loc` is the field path inside that judgement's file."""

    loc: tuple[str | int, ...]
    message: str


def check_against_config(judgement: KeyJudgement, config: CampaignConfig) -> list[Finding]:
    """Rules that need the campaign configuration or geography, beyond the field types."""
    findings: list[Finding] = []
    source_ids = [source.id for source in judgement.sources]
    for index, source_id in enumerate(source_ids):
        if source_ids.index(source_id) != index:
            findings.append(Finding(("sources", index, "id"), f"source id {source_id!r} used twice"))
    if judgement.issued > judgement.valid_from:
        findings.append(
            Finding(
                ("valid_from",), f"starts {judgement.valid_from}, before it was issued ({judgement.issued})"
            )
        )
    for code, assessment in judgement.countries.items():
        here: tuple[str | int, ...] = ("countries", code)
        if code not in config.country_by_code:
            findings.append(
                Finding(
                    here,
                    f"unknown country {code!r}; the campaign runs in "
                    f"{', '.join(sorted(config.country_by_code))} (config/countries.yaml)",
                )
            )
        source = assessment.people_on_the_move.source
        if source is not None and source not in source_ids:
            findings.append(
                Finding(
                    (*here, "people_on_the_move", "source"),
                    f"missing source {source!r}: add it to `sources` (ids: {', '.join(source_ids)})",
                )
            )
        for position, language in enumerate(assessment.languages):
            if language not in config.language_by_code:
                findings.append(
                    Finding(
                        (*here, "languages", position),
                        f"unknown language {language!r}; campaign languages are "
                        f"{', '.join(sorted(config.language_by_code))} (config/languages.yaml)",
                    )
                )
        bounds = COUNTRY_BOUNDS.get(code)
        for position, hotspot in enumerate(assessment.hotspots):
            spot: tuple[str | int, ...] = (*here, "hotspots", position)
            if not MIN_RADIUS_KM <= hotspot.radius_km <= MAX_RADIUS_KM:
                findings.append(
                    Finding(
                        (*spot, "radius_km"),
                        f"{hotspot.radius_km:g} km is outside what both platforms accept "
                        f"({MIN_RADIUS_KM:g}-{MAX_RADIUS_KM:g} km; Meta custom locations allow at most "
                        f"{PLATFORM_RADIUS_KM['meta'][1]:g} km)",
                    )
                )
            if bounds is not None and not _inside(bounds, hotspot.lat, hotspot.lon):
                south, west, north, east = bounds
                findings.append(
                    Finding(
                        (*spot, "lat"),
                        f"{hotspot.name} ({hotspot.lat}, {hotspot.lon}) is outside {code} "
                        f"(lat {south}..{north}, lon {west}..{east}); latitude and longitude swapped?",
                    )
                )
    return findings


def _inside(bounds: tuple[float, float, float, float], lat: float, lon: float) -> bool:
    south, west, north, east = bounds
    return south <= lat <= north and west <= lon <= east


@dataclass(frozen=True)
class Overlap:
    earlier: KeyJudgement
    later: KeyJudgement


def overlapping_windows(judgements: Iterable[KeyJudgement]) -> list[Overlap]:
    """Pairs whose validity windows share a day: only one judgement may be in force at a time."""
    ordered = sorted(judgements, key=lambda j: (j.valid_from, j.id))
    found: list[Overlap] = []
    for index, later in enumerate(ordered):
        for earlier in ordered[:index]:
            if earlier.id != later.id and later.valid_from <= earlier.valid_until:
                found.append(Overlap(earlier, later))
    return found


def in_force(judgements: Sequence[KeyJudgement], on: dt.date) -> KeyJudgement | None:
    """The judgement whose window contains `on` (windows never overlap once validated)."""
    current = [j for j in judgements if j.in_force(on)]
    return max(current, key=lambda j: (j.valid_from, j.issued)) if current else None
