"""Keep the warehouse's reference dimensions equal to config/ (countries, languages, platforms, orgs)."""

from __future__ import annotations

from dataclasses import dataclass

from safepassage.domain.campaign import CampaignConfig, Platform
from safepassage.services.ports import Warehouse

PLATFORM_NAMES = {Platform.GOOGLE_ADS: "Google Ads", Platform.META: "Meta (Facebook, Instagram)"}


@dataclass(frozen=True)
class SyncCounts:
    countries: int
    languages: int
    platforms: int
    organisations: int

    def __str__(self) -> str:
        return (
            f"{self.countries} countries, {self.languages} languages, "
            f"{self.platforms} platforms, {self.organisations} support organisations"
        )


def sync_reference_data(config: CampaignConfig, warehouse: Warehouse) -> SyncCounts:
    countries = [
        {
            "code": c.code,
            "name": c.name,
            "role": c.role,
            "currency": c.currency,
            "time_zone": c.time_zone,
            "google_geo_target_id": c.google_geo_target_id,
            "meta_country_code": c.meta_country_code,
        }
        for c in config.countries
    ]
    languages = [
        {
            "code": lang.code,
            "name": lang.name,
            "native_name": lang.native_name,
            "script": lang.script.value,
            "google_language_id": lang.google_language_id,
            "meta_locale_ids": list(lang.meta_locale_ids),
        }
        for lang in config.languages
    ]
    platforms = [{"code": p.value, "name": name} for p, name in PLATFORM_NAMES.items()]
    organisations = [
        {
            "id": org.id,
            "name": org.name,
            "url": str(org.url),
            "helpline": org.helpline,
            "countries": list(org.countries),
            "languages": list(org.languages),
        }
        for org in config.organisations
    ]
    warehouse.reference.upsert_reference(countries, languages, platforms, organisations)
    return SyncCounts(len(countries), len(languages), len(platforms), len(organisations))
