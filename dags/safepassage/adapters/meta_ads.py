"""Meta Marketing API through the official facebook-business SDK: the kill switch's side.

SafePassage does not push to Meta yet, so the only write here is pausing: every active ad set
whose targeting reaches a country is paused, whoever created it (the push, or a person in Ads
Manager). An ad set that targets several countries is paused too: stopping too much is the safe
side of a kill switch, and the result names each one so a person can split it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adset import AdSet
from facebook_business.api import FacebookAdsApi

INACTIVE = {"PAUSED", "ARCHIVED", "DELETED"}


def targeted_countries(targeting: Mapping[str, Any] | None) -> set[str]:
    """Countries an ad set's targeting reaches: listed countries and the countries of its places."""
    geo = (targeting or {}).get("geo_locations") or {}
    countries = {str(code).upper() for code in geo.get("countries", [])}
    for kind in ("regions", "cities", "custom_locations", "zips"):
        countries |= {str(place["country"]).upper() for place in geo.get(kind, []) if place.get("country")}
    return countries


@dataclass(frozen=True)
class PausedAdSet:
    id: str
    name: str
    countries: tuple[str, ...]


class MetaAdAccount:
    def __init__(self, api: FacebookAdsApi, account_id: str) -> None:
        self.api = api
        self.account_id = account_id if account_id.startswith("act_") else f"act_{account_id}"

    def pause_country(self, country: str) -> list[PausedAdSet]:
        """Pause every active ad set reaching `country`; returns those paused (none: already paused)."""
        fields = [AdSet.Field.id, AdSet.Field.name, AdSet.Field.status, AdSet.Field.targeting]
        ad_sets = AdAccount(self.account_id, api=self.api).get_ad_sets(fields=fields, params={"limit": 200})
        paused = []
        for ad_set in ad_sets:  # the SDK's cursor follows every page
            reached = targeted_countries(ad_set.get(AdSet.Field.targeting))
            if ad_set.get(AdSet.Field.status) in INACTIVE or country not in reached:
                continue
            AdSet(ad_set[AdSet.Field.id], api=self.api).api_update(params={"status": "PAUSED"})
            paused.append(
                PausedAdSet(ad_set[AdSet.Field.id], ad_set.get(AdSet.Field.name, ""), tuple(sorted(reached)))
            )
        return paused
