"""Meta targeting specs: the checks the Marketing API makes, and their meaning for the simulation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ad_emulators import simulation
from ad_emulators.meta.errors import GraphError, invalid_parameter
from ad_emulators.regions import EU_COUNTRIES

PUBLISHER_PLATFORMS = frozenset({"facebook", "instagram", "audience_network", "messenger", "threads"})
DEVICE_PLATFORMS = frozenset({"mobile", "desktop"})
DISTANCE_UNITS = {"mile": 1.609344, "kilometer": 1.0}
# Meta's limits on a radius around a city / a custom location, in km.
CITY_RADIUS_KM = (16.0, 80.0)
CUSTOM_RADIUS_KM = (0.63, 80.0)
# Meta ad locale key -> language code (Meta's Targeting Search, type=adlocale). The emulator's own
# table: it never reads the project's config, so it cannot share the client's assumptions.
AD_LOCALES = {
    52: "uk",
    17: "ru",
    6: "en",
    24: "en",
    15: "pl",
    32: "ro",
    30: "hu",
    33: "sk",
    2: "cs",
    5: "de",
}
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _bad(message: str, *field: str) -> GraphError:
    return invalid_parameter(message, field=("targeting", *field), title="Invalid targeting spec")


def validate(spec: Any) -> dict[str, Any]:
    """The spec as stored, or a GraphError naming the offending field."""
    if not isinstance(spec, dict):
        raise _bad("targeting must be a JSON object")
    geo = spec.get("geo_locations")
    if not isinstance(geo, dict) or not any(
        geo.get(key)
        for key in ("countries", "regions", "cities", "custom_locations", "zips", "country_groups")
    ):
        raise _bad(
            "A location is required: set geo_locations with countries, regions, cities or custom_locations",
            "geo_locations",
        )
    countries = geo.get("countries", [])
    if not isinstance(countries, list) or not all(
        isinstance(c, str) and _COUNTRY.match(c) for c in countries
    ):
        raise _bad(
            "geo_locations.countries must be a list of ISO 3166-1 alpha-2 codes", "geo_locations", "countries"
        )
    for index, region in enumerate(geo.get("regions", [])):
        if not isinstance(region, dict) or not str(region.get("key", "")).isdigit():
            raise _bad(f"regions[{index}] needs a numeric key", "geo_locations", "regions")
    for index, city in enumerate(geo.get("cities", [])):
        if not isinstance(city, dict) or not str(city.get("key", "")).isdigit():
            raise _bad(f"cities[{index}] needs a numeric key", "geo_locations", "cities")
        if "radius" in city:
            _radius(city, CITY_RADIUS_KM, f"cities[{index}]", "cities")
    for index, place in enumerate(geo.get("custom_locations", [])):
        if not isinstance(place, dict):
            raise _bad(f"custom_locations[{index}] must be an object", "geo_locations", "custom_locations")
        try:
            latitude, longitude = float(place["latitude"]), float(place["longitude"])
        except (KeyError, TypeError, ValueError):
            raise _bad(
                f"custom_locations[{index}] needs latitude and longitude", "geo_locations", "custom_locations"
            ) from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise _bad(
                f"custom_locations[{index}] is not a place on Earth", "geo_locations", "custom_locations"
            )
        _radius(place, CUSTOM_RADIUS_KM, f"custom_locations[{index}]", "custom_locations")

    locales = spec.get("locales", [])
    if not isinstance(locales, list) or not all(isinstance(value, int) and value > 0 for value in locales):
        raise _bad("locales must be a list of ad locale keys (integers)", "locales")
    age_min = spec.get("age_min", 18)
    age_max = spec.get("age_max", 65)
    if not isinstance(age_min, int) or not 13 <= age_min <= 65:
        raise _bad("age_min must be between 13 and 65", "age_min")
    if not isinstance(age_max, int) or not 13 <= age_max <= 65:
        raise _bad("age_max must be between 13 and 65", "age_max")
    if age_max < age_min:
        raise _bad("age_max must not be below age_min", "age_max")
    for key, allowed in (
        ("publisher_platforms", PUBLISHER_PLATFORMS),
        ("device_platforms", DEVICE_PLATFORMS),
    ):
        values = spec.get(key, [])
        if not isinstance(values, list) or not set(values) <= allowed:
            raise _bad(f"{key} accepts {sorted(allowed)}", key)
    return {**spec, "age_min": age_min, "age_max": age_max}


def _radius(place: Mapping[str, Any], limits: tuple[float, float], where: str, key: str) -> None:
    unit = place.get("distance_unit", "mile")
    if unit not in DISTANCE_UNITS:
        raise _bad(f"{where}.distance_unit must be mile or kilometer", "geo_locations", key)
    try:
        km = float(place["radius"]) * DISTANCE_UNITS[unit]
    except (KeyError, TypeError, ValueError):
        raise _bad(f"{where} needs a numeric radius", "geo_locations", key) from None
    low, high = limits
    if not low - 1e-6 <= km <= high + 1e-6:
        raise _bad(f"{where}.radius must be between {low} and {high} km", "geo_locations", key)


def targets_eu(spec: Mapping[str, Any]) -> bool:
    geo = spec.get("geo_locations", {})
    countries = set(geo.get("countries", []))
    for key in ("regions", "cities", "custom_locations"):
        countries |= {place.get("country") for place in geo.get(key, []) if isinstance(place, dict)}
    return bool(countries & EU_COUNTRIES) or "worldwide" in geo.get("country_groups", [])


def to_simulation(spec: Mapping[str, Any]) -> simulation.Targeting:
    geo = spec.get("geo_locations", {})
    whole = list(geo.get("countries", []))
    partial: list[str] = []
    radii: list[float] = []
    regions = 0
    for key in ("regions", "cities", "custom_locations"):
        for place in geo.get(key, []):
            country = place.get("country")
            if country and country not in whole and country not in partial:
                partial.append(country)
            if key == "regions":
                regions += 1
            else:
                radii.append(
                    float(place.get("radius", 25)) * DISTANCE_UNITS[place.get("distance_unit", "mile")]
                )
    languages = tuple(
        dict.fromkeys(AD_LOCALES.get(locale, f"locale-{locale}") for locale in spec.get("locales", []))
    )
    devices: tuple[str, ...] = ()
    if spec.get("device_platforms"):
        devices = tuple(
            device
            for device in simulation.DEVICES
            if ("desktop" if device == "desktop" else "mobile") in spec["device_platforms"]
        )
    fraction = 1.0 if whole or not partial else simulation.geo_fraction(regions, radii)
    return simulation.Targeting(
        countries=tuple(whole or partial),
        languages=languages,
        age_min=int(spec.get("age_min", 18)),
        age_max=int(spec.get("age_max", 65)),
        devices=devices,
        geo_fraction=fraction,
    )
