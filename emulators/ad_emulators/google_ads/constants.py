"""The slice of Google's geo target and language constants the emulator knows.

Country criteria are 2000 + the ISO 3166-1 numeric code (Poland 616 -> 2616); language constants are
Google's published ids (English 1000, Polish 1030, Ukrainian 1036). A criterion naming anything else
is refused as the API refuses an unknown id.
"""

from __future__ import annotations

import functools
from typing import Any

from babel import Locale
from google.ads.googleads.v26.resources.types.geo_target_constant import GeoTargetConstant
from google.ads.googleads.v26.resources.types.language_constant import LanguageConstant

from ad_emulators.regions import EU_COUNTRIES

GeoTargetConstantPb = GeoTargetConstant.pb()
LanguageConstantPb = LanguageConstant.pb()

_ISO_NUMERIC = {
    "AL": 8, "AT": 40, "BA": 70, "BE": 56, "BG": 100, "BY": 112, "CA": 124, "CH": 756, "CY": 196,
    "CZ": 203, "DE": 276, "DK": 208, "EE": 233, "ES": 724, "FI": 246, "FR": 250, "GB": 826, "GE": 268,
    "GR": 300, "HR": 191, "HU": 348, "IE": 372, "IS": 352, "IT": 380, "LI": 438, "LT": 440, "LU": 442,
    "LV": 428, "MD": 498, "ME": 499, "MK": 807, "MT": 470, "NL": 528, "NO": 578, "PL": 616, "PT": 620,
    "RO": 642, "RS": 688, "RU": 643, "SE": 752, "SI": 705, "SK": 703, "TR": 792, "UA": 804, "US": 840,
    "AM": 51, "AZ": 31, "KZ": 398, "IL": 376, "AU": 36,
}  # fmt: skip

COUNTRY_BY_GEO_ID: dict[int, str] = {2000 + numeric: code for code, numeric in _ISO_NUMERIC.items()}
GEO_ID_BY_COUNTRY: dict[str, int] = {code: geo_id for geo_id, code in COUNTRY_BY_GEO_ID.items()}

LANGUAGE_BY_ID: dict[int, str] = {
    1000: "en", 1001: "de", 1002: "fr", 1003: "es", 1004: "it", 1009: "da", 1010: "nl", 1011: "fi",
    1013: "no", 1014: "pt", 1015: "sv", 1019: "ar", 1020: "bg", 1021: "cs", 1022: "el", 1024: "hu",
    1026: "is", 1028: "lv", 1029: "lt", 1030: "pl", 1031: "ru", 1032: "ro", 1033: "sk", 1034: "sl",
    1035: "sr", 1036: "uk", 1037: "tr", 1039: "hr", 1043: "et", 1064: "fa", 1056: "sq",
}  # fmt: skip

GEO_TARGET_PREFIX = "geoTargetConstants/"
LANGUAGE_PREFIX = "languageConstants/"


@functools.cache
def geo_target_constants() -> tuple[Any, ...]:
    """`geo_target_constant` rows (countries only), English names as Google shows them."""
    english = Locale("en")
    rows = []
    for geo_id, code in sorted(COUNTRY_BY_GEO_ID.items()):
        name = english.territories.get(code, code)
        rows.append(
            GeoTargetConstantPb(
                resource_name=f"{GEO_TARGET_PREFIX}{geo_id}",
                id=geo_id,
                name=name,
                canonical_name=name,
                country_code=code,
                target_type="Country",
                status=2,  # GeoTargetConstantStatus.ENABLED
                require_eu_political_advertising_declaration=code in EU_COUNTRIES,
            )
        )
    return tuple(rows)


@functools.cache
def language_constants() -> tuple[Any, ...]:
    english = Locale("en")
    return tuple(
        LanguageConstantPb(
            resource_name=f"{LANGUAGE_PREFIX}{language_id}",
            id=language_id,
            code=code,
            name=english.languages.get(code, code),
            targetable=True,
        )
        for language_id, code in sorted(LANGUAGE_BY_ID.items())
    )
