"""Which countries a place reaches: the kill switch's geography. Pure, no I/O.

Ad platforms let a person target a pin with a radius (Meta `custom_locations`, Google proximity) that
may or may not say which country it is in. The rule, the same on both platforms: a circle reaches
every configured country whose bounding box (config/countries.yaml `bounds`, widened by the radius)
it touches, plus the country the platform names for it. Boxes of neighbours overlap, so a pin near a
border reaches both: for a kill switch, stopping too much is the safe side. A country without
`bounds` is reached by every pin that does not name a country.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

KM_PER_DEGREE = 111.2  # one degree of latitude (and of longitude at the equator)


@dataclass(frozen=True)
class Box:
    south: float
    west: float
    north: float
    east: float

    def touches(self, lat: float, lon: float, radius_km: float = 0.0) -> bool:
        """Whether a circle around (lat, lon) touches the box (boxes never cross the antimeridian here)."""
        margin_lat = radius_km / KM_PER_DEGREE
        # The widest longitude margin within the box's latitudes: a circle is widest where |lat| is largest.
        widest = max(abs(self.south), abs(self.north), abs(lat)) + margin_lat
        margin_lon = radius_km / (KM_PER_DEGREE * max(math.cos(math.radians(min(widest, 89.0))), 0.01))
        return (
            self.south - margin_lat <= lat <= self.north + margin_lat
            and self.west - margin_lon <= lon <= self.east + margin_lon
        )


EVERY_COUNTRY = "*"  # in a set of reached countries: every country (e.g. a place that names none)


@dataclass(frozen=True)
class Geography:
    """Country code → bounding box, for every configured country (None: no box known), and Google's
    country geo target ids → country code."""

    boxes: Mapping[str, Box | None]
    google_geo_ids: Mapping[int, str] = field(default_factory=dict)

    def countries_reached(self, lat: float, lon: float, radius_km: float = 0.0) -> set[str]:
        return {code for code, box in self.boxes.items() if box is None or box.touches(lat, lon, radius_km)}

    @property
    def countries(self) -> set[str]:
        return set(self.boxes)

    @classmethod
    def of(cls, countries: Iterable[object]) -> Geography:
        """From configured countries (anything with `code` and `bounds`)."""
        boxes: dict[str, Box | None] = {}
        geo_ids: dict[int, str] = {}
        for country in countries:
            code, bounds = str(getattr(country, "code")), getattr(country, "bounds", None)  # noqa: B009
            boxes[code] = (
                None if bounds is None else Box(bounds.south, bounds.west, bounds.north, bounds.east)
            )
            if getattr(country, "google_geo_target_id", None):
                geo_ids[int(getattr(country, "google_geo_target_id"))] = code  # noqa: B009
        return cls(boxes, geo_ids)


def reaches(countries: set[str], country: str) -> bool:
    return country in countries or EVERY_COUNTRY in countries


def radius_in_km(radius: float, unit: str | None) -> float:
    return float(radius) * (1.609344 if str(unit or "").lower() in ("mile", "miles") else 1.0)
