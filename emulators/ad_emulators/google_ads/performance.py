"""Google Ads entities -> the shared delivery simulation, and its rows -> Google's metrics.

Each ad group ad is one `ServingUnit`; its history merges the recorded changes of the ad, its ad
group, its campaign (status, start/end) and the campaign budget (amount), each stamped with the
sandbox time of the commit. Targeting is the campaign's current location and language criteria.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from ad_emulators import simulation
from ad_emulators.clock import as_utc
from ad_emulators.google_ads.constants import COUNTRY_BY_GEO_ID, GEO_ID_BY_COUNTRY, LANGUAGE_BY_ID
from ad_emulators.google_ads.store import ENABLED, CustomerState, resource_id

MICROS_PER_MINOR = 10_000
DEVICE_NAMES = {"mobile": "MOBILE", "desktop": "DESKTOP", "tablet": "TABLET"}
_DOWNLOAD_CATEGORY = "DOWNLOAD"


@dataclass(frozen=True)
class Fact:
    """One simulated day x ad x country x language x device, in Google's terms."""

    customer_id: str
    campaign: str  # resource names
    ad_group: str
    ad_group_ad: str
    date: dt.date
    device: str  # Device enum name
    country_criterion_id: int
    language: str
    impressions: int
    clicks: int
    cost_micros: int
    conversions: dict[str, float]  # conversion action resource name -> conversions


def _parse_time(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        return as_utc(dt.datetime.fromisoformat(text))
    except ValueError:
        return None


def _timeline(state: CustomerState, name: str) -> list[tuple[dt.datetime, dict[str, Any]]]:
    return [(dt.datetime.fromisoformat(at), snapshot) for at, snapshot in state.history.get(name, [])]


def _value_at(timeline: list[tuple[dt.datetime, dict[str, Any]]], when: dt.datetime) -> dict[str, Any] | None:
    current = None
    for at, snapshot in timeline:
        if at > when:
            break
        current = snapshot
    return current


def _targeting_by_campaign(state: CustomerState) -> dict[str, simulation.Targeting]:
    countries: dict[str, list[str]] = {}
    languages: dict[str, list[str]] = {}
    for criterion in state.resources["campaign_criterion"].values():
        if criterion.negative:
            continue
        which = criterion.WhichOneof("criterion")
        if which == "location" and criterion.criterion_id in COUNTRY_BY_GEO_ID:
            countries.setdefault(criterion.campaign, []).append(COUNTRY_BY_GEO_ID[criterion.criterion_id])
        elif which == "proximity" and criterion.proximity.address.country_code:
            code = criterion.proximity.address.country_code.upper()
            countries.setdefault(criterion.campaign, []).append(code)
        elif which == "language" and criterion.criterion_id in LANGUAGE_BY_ID:
            languages.setdefault(criterion.campaign, []).append(LANGUAGE_BY_ID[criterion.criterion_id])
    return {
        campaign: simulation.Targeting(
            countries=tuple(dict.fromkeys(codes)), languages=tuple(dict.fromkeys(languages.get(campaign, [])))
        )
        for campaign, codes in countries.items()
    }


def serving_units(state: CustomerState) -> list[simulation.ServingUnit]:
    campaigns = state.resources["campaign"]
    ad_groups = state.resources["ad_group"]
    targeting_by_campaign = _targeting_by_campaign(state)
    units: list[simulation.ServingUnit] = []
    for ad in state.resources["ad_group_ad"].values():
        group = ad_groups.get(ad.ad_group)
        campaign = campaigns.get(group.campaign) if group is not None else None
        if group is None or campaign is None:
            continue
        targeting = targeting_by_campaign.get(campaign.resource_name)
        if targeting is None:
            continue  # no location criterion: the simulation models the campaign's countries only
        timelines = {
            "ad": _timeline(state, ad.resource_name),
            "group": _timeline(state, group.resource_name),
            "campaign": _timeline(state, campaign.resource_name),
        }
        change_points = {at for timeline in timelines.values() for at, _ in timeline}
        for _, snapshot in timelines["campaign"]:
            timelines.setdefault(f"budget:{snapshot['budget']}", _timeline(state, snapshot["budget"]))
            for bound in (_parse_time(snapshot["start"]), _parse_time(snapshot["end"])):
                if bound is not None:
                    change_points.add(bound)
        change_points |= {at for key, tl in timelines.items() if key.startswith("budget:") for at, _ in tl}
        history: list[simulation.UnitState] = []
        for when in sorted(change_points):
            ad_state, group_state = _value_at(timelines["ad"], when), _value_at(timelines["group"], when)
            campaign_state = _value_at(timelines["campaign"], when)
            if ad_state is None or group_state is None or campaign_state is None:
                continue
            budget_state = _value_at(timelines.get(f"budget:{campaign_state['budget']}", []), when)
            start, end = _parse_time(campaign_state["start"]), _parse_time(campaign_state["end"])
            active = (
                ad_state["status"] == ENABLED
                and group_state["status"] == ENABLED
                and campaign_state["status"] == ENABLED
                and budget_state is not None
                and budget_state["status"] == ENABLED
                and (start is None or when >= start)
                and (end is None or when < end)
            )
            amount = budget_state["amount_micros"] if budget_state is not None else 0
            entry = simulation.UnitState(when, active, amount // MICROS_PER_MINOR, targeting)
            if not history or (history[-1].active, history[-1].daily_budget_minor) != (
                entry.active,
                entry.daily_budget_minor,
            ):
                history.append(entry)
        if not history:
            continue
        rsa = ad.ad.responsive_search_ad
        budget_name = campaign.campaign_budget
        budget = state.resources["campaign_budget"].get(budget_name)
        final_url = ad.ad.final_urls[0] if ad.ad.final_urls else ""
        creative_text = " | ".join(a.text for a in [*rsa.headlines, *rsa.descriptions])
        units.append(
            simulation.ServingUnit(
                platform="google_ads",
                ad_id=ad.resource_name,
                budget_id=budget_name,
                final_url=final_url,
                history=tuple(history),
                creative_text=creative_text,
                campaign_id=campaign.resource_name,
                group_id=group.resource_name,
                currency=state.currency_code,
                ad_key=_content_key(campaign.name, group.name, final_url, creative_text),
                budget_key=f"budget:{budget.name}" if budget is not None and budget.name else "",
            )
        )
    return units


def _content_key(campaign: str, group: str, final_url: str, creative_text: str) -> str:
    """An ad by where it sits and what it says: Google numbers ads in creation order, so a create
    retried after a lost answer gets other ids, and must not deliver differently."""
    content = hashlib.sha256(f"{final_url}\n{creative_text}".encode()).hexdigest()[:16]
    return f"campaign:{campaign}/ad_group:{group}/ad:{content}"


def _conversion_routes(state: CustomerState) -> tuple[list[str], list[str]]:
    """(actions counting signposting conversions, actions counting app downloads), enabled ones only."""
    signposting: list[str] = []
    downloads: list[str] = []
    for action in sorted(state.resources["conversion_action"].values(), key=lambda a: a.id):
        if action.status != ENABLED:
            continue
        category = (
            action.DESCRIPTOR.fields_by_name["category"].enum_type.values_by_number[action.category].name
        )
        (downloads if category == _DOWNLOAD_CATEGORY else signposting).append(action.resource_name)
    return signposting, downloads


def facts(state: CustomerState, start: dt.date, end: dt.date, as_of: dt.datetime) -> list[Fact]:
    units = serving_units(state)
    if not units:
        return []
    signposting, downloads = _conversion_routes(state)
    out: list[Fact] = []
    for row in simulation.daily_rows(units, start, end, as_of=as_of):
        conversions: dict[str, float] = {}
        people = sum(row.conversions.values())
        if signposting and people:
            conversions[signposting[0]] = float(people)
        if downloads and row.app_download_clicks:
            conversions[downloads[0]] = float(row.app_download_clicks)
        geo_id = GEO_ID_BY_COUNTRY.get(row.country)
        if geo_id is None:
            continue
        out.append(
            Fact(
                customer_id=state.customer_id,
                campaign=row.campaign_id,
                ad_group=row.group_id,
                ad_group_ad=row.ad_id,
                date=row.date,
                device=DEVICE_NAMES.get(row.device, "OTHER"),
                country_criterion_id=geo_id,
                language=row.language,
                impressions=row.impressions,
                clicks=row.clicks,
                cost_micros=row.spend_minor * MICROS_PER_MINOR,
                conversions=conversions,
            )
        )
    return out


def campaign_id_of(name: str) -> int:
    return int(resource_id(name))
