"""People signposted to safety: what partner organisations report back, as aggregate counts.

The platforms see clicks, not what happened next. Partners (the support organisations the ads
signpost to) report how many people reached them through the campaign and were helped to safety,
per organisation, country and month — a count, never a person. `intelligence/outcomes/*.yaml`
holds those reports (schema: `intelligence/schema/partner-outcomes.schema.json`).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, field_validator

from safepassage.domain.campaign import CampaignConfig, CountryCode, Frozen

SCHEMA_ID = "https://safepassage.invalid/schema/partner-outcomes.schema.json"


class OutcomeBasis(StrEnum):
    REPORTED = "reported"  # as the partner reported it
    ILLUSTRATIVE = "illustrative"  # a placeholder for demonstration, not a real figure


class PartnerOutcome(Frozen):
    organisation: str = Field(description="support organisation id from config/organisations.yaml")
    country: CountryCode
    month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    people_signposted_to_safety: int = Field(ge=0, le=100_000)
    note: str = Field(default="", max_length=500, description="how the partner counted; no personal data")

    @property
    def month_start(self) -> dt.date:
        year, month = self.month.split("-")
        return dt.date(int(year), int(month), 1)


class PartnerOutcomeReport(Frozen):
    """One file of partner-reported outcomes."""

    model_config = Frozen.model_config | {
        "json_schema_extra": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_ID,
            "title": "SafePassage partner-reported outcomes",
        }
    }

    title: str = Field(min_length=5)
    collected_by: str = Field(
        min_length=3,
        pattern=r"\b([Tt]eam|TEAM|[Uu]nit|[Dd]esk|[Nn]etwork|[Gg]roup)\b",
        description="the team that collected the partners' reports, never a person's name",
    )
    basis: OutcomeBasis
    outcomes: tuple[PartnerOutcome, ...] = Field(min_length=1)

    @field_validator("outcomes")
    @classmethod
    def _one_count_per_cell(cls, value: tuple[PartnerOutcome, ...]) -> tuple[PartnerOutcome, ...]:
        seen: set[tuple[str, str, str]] = set()
        for item in value:
            key = (item.organisation, item.country, item.month)
            if key in seen:
                raise ValueError(
                    f"{'/'.join(key)} is reported twice: one count per organisation, country, month"
                )
            seen.add(key)
        return value


def check_outcomes(
    report: PartnerOutcomeReport, config: CampaignConfig
) -> list[tuple[tuple[str | int, ...], str]]:
    """(field path, message) for every outcome naming an organisation or country config/ does not know,
    or an organisation that does not serve that country."""
    organisations = {org.id: org for org in config.organisations}
    countries = {country.code for country in config.countries}
    found: list[tuple[tuple[str | int, ...], str]] = []
    for index, item in enumerate(report.outcomes):
        org = organisations.get(item.organisation)
        if org is None:
            found.append(
                (
                    ("outcomes", index, "organisation"),
                    f"unknown organisation {item.organisation!r} (config/organisations.yaml)",
                )
            )
        if item.country not in countries:
            found.append((("outcomes", index, "country"), f"{item.country} is not a campaign country"))
        elif org is not None and item.country not in org.countries:
            found.append(
                (
                    ("outcomes", index, "country"),
                    f"{org.id} does not serve {item.country} (config/organisations.yaml)",
                )
            )
    return found
