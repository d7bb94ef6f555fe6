"""The Meta kill switch, through the official facebook-business SDK (the push is `meta_push.py`).

Its only write is pausing: every active ad set whose targeting reaches a country is paused, whoever
created it (the push, or a person in Ads Manager). An ad set that targets several countries is paused
too: stopping too much is the safe side of a kill switch, and the result names each one so a person
can split it.

Every geo form counts (docs/push.md, "Kill switch"): `countries`; `country_groups` (known groups by
membership, any other group as reaching every country); regions, cities, zips and other places by
their `country` (or the `XX:` prefix of their key), and one naming no country as reaching every
country; `custom_locations` pins by their `country` and by `safepassage.domain.geo` (the countries
whose box the circle touches). Excluded locations never count as reaching.

SDK errors leave this module as `PlatformError`, scrubbed, never chained (facebook-business puts
`access_token` and `appsecret_proof` in the URLs its exceptions print).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from facebook_business.adobjects.adaccount import AdAccount
from facebook_business.adobjects.adset import AdSet
from facebook_business.api import FacebookAdsApi

from safepassage.adapters.redaction import PlatformError
from safepassage.domain.geo import EVERY_COUNTRY, Geography, radius_in_km, reaches

INACTIVE = {"PAUSED", "ARCHIVED", "DELETED"}
# Meta `country_groups` by membership; any group not listed here counts as reaching every country.
EU = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})  # fmt: skip
COUNTRY_GROUPS: dict[str, frozenset[str]] = {
    "eu": EU,
    "eea": EU | {"IS", "LI", "NO"},
    **{
        group: frozenset()  # groups outside Europe: they reach none of SafePassage's countries
        for group in (
            "africa", "asia", "north_america", "south_america", "central_america", "caribbean", "oceania",
            "nafta", "mercosur", "asean", "gcc", "apec", "australia_and_new_zealand", "latam",
        )
    },
}  # fmt: skip
_PLACE_KINDS_WITHOUT_COUNTRY_MEANING = {"countries", "country_groups", "custom_locations", "location_types"}
_KEY_PREFIX = re.compile(r"^([A-Z]{2}):")


def targeted_countries(targeting: Mapping[str, Any] | None, geography: Geography | None = None) -> set[str]:
    """Countries an ad set's targeting reaches (`EVERY_COUNTRY` in the set: it reaches them all)."""
    geo = (targeting or {}).get("geo_locations") or {}
    countries = {str(code).upper() for code in geo.get("countries", [])}
    for group in geo.get("country_groups", []):
        countries |= COUNTRY_GROUPS.get(str(group).lower(), {EVERY_COUNTRY})
    for pin in geo.get("custom_locations", []):
        countries |= _pin_countries(pin, geography)
    for kind, places in geo.items():
        if kind in _PLACE_KINDS_WITHOUT_COUNTRY_MEANING or not isinstance(places, list):
            continue
        for place in places:
            countries.add(_place_country(place))
    return countries


def _place_country(place: Any) -> str:
    if isinstance(place, Mapping):
        if place.get("country"):
            return str(place["country"]).upper()
        prefix = _KEY_PREFIX.match(str(place.get("key", "")))
        if prefix:
            return prefix.group(1)
    return EVERY_COUNTRY  # a place naming no country: it could be anywhere


def _pin_countries(pin: Mapping[str, Any], geography: Geography | None) -> set[str]:
    named = {str(pin["country"]).upper()} if pin.get("country") else set()
    if geography is None:
        return named or {EVERY_COUNTRY}
    try:
        lat, lon = float(pin["latitude"]), float(pin["longitude"])
    except (KeyError, TypeError, ValueError):
        return named or {EVERY_COUNTRY}  # e.g. an address string: where it is cannot be told here
    radius = radius_in_km(pin.get("radius", 0) or 0, pin.get("distance_unit"))
    return named | geography.countries_reached(lat, lon, radius)


@dataclass(frozen=True)
class PausedAdSet:
    id: str
    name: str
    countries: tuple[str, ...]


class MetaAdAccount:
    def __init__(self, api: FacebookAdsApi, account_id: str, geography: Geography | None = None) -> None:
        self.api = api
        self.account_id = account_id if account_id.startswith("act_") else f"act_{account_id}"
        self.geography = geography  # None: every pin without a country counts as reaching everywhere

    def pause_country(self, country: str) -> list[PausedAdSet]:
        """Pause every active ad set reaching `country`; returns those paused (none: already paused)."""
        try:
            return self._pause_country(country)
        except Exception as error:  # scrubbed and not chained: the SDK's message carries the token
            raise PlatformError(f"meta {self.account_id}", error) from None

    def _pause_country(self, country: str) -> list[PausedAdSet]:
        fields = [AdSet.Field.id, AdSet.Field.name, AdSet.Field.status, AdSet.Field.targeting]
        ad_sets = AdAccount(self.account_id, api=self.api).get_ad_sets(fields=fields, params={"limit": 200})
        paused = []
        for ad_set in ad_sets:  # the SDK's cursor follows every page
            reached = targeted_countries(ad_set.get(AdSet.Field.targeting), self.geography)
            if ad_set.get(AdSet.Field.status) in INACTIVE or not reaches(reached, country):
                continue
            AdSet(ad_set[AdSet.Field.id], api=self.api).api_update(params={"status": "PAUSED"})
            paused.append(
                PausedAdSet(ad_set[AdSet.Field.id], ad_set.get(AdSet.Field.name, ""), tuple(sorted(reached)))
            )
        return paused
