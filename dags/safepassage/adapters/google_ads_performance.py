"""Google Ads daily performance through the official SDK: one `SearchStream` per customer per window.

Requests per pull: three small entity reads (campaigns, their criteria, ads with their final URLs),
the performance stream, and the customer's own daily totals for the quality check — five, however
many rows (paged `Search` would add a request per 10,000 rows and, on the emulator, re-run the
query for every page). Rows are yielded as the stream delivers them, never collected.

Google has no country segment at ad level (`geographic_view` stops at the ad group) and no language
segment at all. SafePassage campaigns target one country and one language each (`domain.push`), so a
row's country and language are its campaign's location and language criteria; a serving campaign
that targets several countries cannot be split by ad and stops the pull with its name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.errors import GoogleAdsException
from google.api_core import exceptions as api_exceptions

from safepassage.adapters.google_ads import classify
from safepassage.domain.performance import (
    AccountTree,
    AdGroupRef,
    AdRef,
    CampaignRef,
    PulledRow,
    Window,
    attribute_link,
)
from safepassage.domain.push import parse_name

PLATFORM = "google_ads"
PLACEMENT = "google_search"
MICROS_PER_MINOR = 10_000  # currencies with two decimals (EUR, the campaign currency)
DEVICES = {"MOBILE": "mobile", "DESKTOP": "desktop", "TABLET": "tablet"}

ENTITY_QUERIES = {
    "campaign": "SELECT campaign.id, campaign.name, campaign.status FROM campaign",
    "criterion": "SELECT campaign.id, campaign_criterion.type, campaign_criterion.negative, "
    "campaign_criterion.location.geo_target_constant, campaign_criterion.language.language_constant, "
    "campaign_criterion.proximity.address.country_code FROM campaign_criterion",
    "ad": "SELECT campaign.id, ad_group.id, ad_group.name, ad_group.status, ad_group_ad.ad.id, "
    "ad_group_ad.status, ad_group_ad.ad.final_urls FROM ad_group_ad",
}
PERFORMANCE_QUERY = (
    "SELECT segments.date, segments.device, ad_group_ad.ad.id, metrics.impressions, metrics.clicks, "
    "metrics.cost_micros FROM ad_group_ad WHERE segments.date BETWEEN '{start}' AND '{end}'"
)
TOTALS_QUERY = (
    "SELECT segments.date, metrics.impressions, metrics.clicks, metrics.cost_micros FROM customer "
    "WHERE segments.date BETWEEN '{start}' AND '{end}'"
)


class GooglePullError(Exception):
    """The pull cannot attribute rows (names the campaign) — nothing is loaded."""


@dataclass
class GooglePerformanceReader:
    """One customer. `countries_by_geo_id` / `languages_by_id` come from config (countries, languages)."""

    client: GoogleAdsClient
    customer_id: str
    countries_by_geo_id: Mapping[int, str]
    languages_by_id: Mapping[int, str]
    organisation_urls: Mapping[str, str]
    currency: str = "EUR"
    requests: int = 0
    _ads: dict[str, tuple[str, str | None, str | None]] = field(
        default_factory=dict
    )  # ad → campaign, country, lang

    def __post_init__(self) -> None:
        self._service = self.client.get_service("GoogleAdsService")

    def _stream(self, query: str) -> Iterator[Any]:
        self.requests += 1
        try:
            for batch in self._service.search_stream(customer_id=self.customer_id, query=query):
                yield from batch.results
        except (GoogleAdsException, api_exceptions.GoogleAPICallError, grpc.RpcError) as error:
            raise classify(error, ()) from error

    def read_tree(self) -> AccountTree:
        """Campaigns, ad groups and ads with their targeting and link attribution (read once per pull)."""
        countries: dict[str, set[str]] = {}
        languages: dict[str, set[str]] = {}
        for row in self._stream(ENTITY_QUERIES["criterion"]):
            criterion = row.campaign_criterion
            if criterion.negative:
                continue
            campaign = str(row.campaign.id)
            kind = criterion.type_.name
            if kind == "LOCATION":
                geo_id = int(criterion.location.geo_target_constant.rsplit("/", 1)[-1])
                if geo_id in self.countries_by_geo_id:
                    countries.setdefault(campaign, set()).add(self.countries_by_geo_id[geo_id])
            elif kind == "PROXIMITY" and criterion.proximity.address.country_code:
                countries.setdefault(campaign, set()).add(criterion.proximity.address.country_code.upper())
            elif kind == "LANGUAGE":
                language_id = int(criterion.language.language_constant.rsplit("/", 1)[-1])
                if language_id in self.languages_by_id:
                    languages.setdefault(campaign, set()).add(self.languages_by_id[language_id])
        tree = AccountTree(PLATFORM, self.customer_id, self.currency)
        for row in self._stream(ENTITY_QUERIES["campaign"]):
            campaign = str(row.campaign.id)
            only = countries.get(campaign, set())
            country = next(iter(only)) if len(only) == 1 else None
            tree.campaigns.append(CampaignRef(campaign, row.campaign.name, row.campaign.status.name, country))
        groups: set[str] = set()
        for row in self._stream(ENTITY_QUERIES["ad"]):
            campaign, group, ad = str(row.campaign.id), str(row.ad_group.id), str(row.ad_group_ad.ad.id)
            language_set = languages.get(campaign, set())
            language = next(iter(language_set)) if len(language_set) == 1 else None
            if group not in groups:
                groups.add(group)
                tree.ad_groups.append(
                    AdGroupRef(campaign, group, row.ad_group.name, row.ad_group.status.name, language)
                )
            url = row.ad_group_ad.ad.final_urls[0] if row.ad_group_ad.ad.final_urls else ""
            link = attribute_link(url, self.organisation_urls)
            name_parts = parse_name(row.ad_group.name) or []
            theme = name_parts[2] if len(name_parts) >= 3 else None
            tree.ads.append(
                AdRef(
                    group,
                    ad,
                    "",
                    row.ad_group_ad.status.name,
                    url,
                    link.destination,
                    link.organisation_id,
                    theme,
                )
            )
            country_set = countries.get(campaign, set())
            self._ads[ad] = (
                campaign,
                next(iter(country_set)) if len(country_set) == 1 else ",".join(sorted(country_set)) or None,
                language or link.language,
            )
        return tree

    def rows(self, window: Window) -> Iterator[PulledRow]:
        """Daily rows by ad and device over `window` (call `read_tree` first), streamed."""
        query = PERFORMANCE_QUERY.format(start=window.start, end=window.end)
        for row in self._stream(query):
            ad = str(row.ad_group_ad.ad.id)
            campaign, country, language = self._ads.get(ad, ("?", None, None))
            if row.metrics.impressions == 0 and row.metrics.cost_micros == 0 and row.metrics.clicks == 0:
                continue
            if country is None or "," in country or language is None:
                raise GooglePullError(
                    f"Google Ads customer {self.customer_id}, campaign {campaign}: "
                    f"served on {row.segments.date} "
                    f"but targets {country or 'no known country'} / {language or 'no known language'}; "
                    "SafePassage reports per country and language, "
                    "so a serving campaign must target one of each"
                )
            yield PulledRow(
                dt.date.fromisoformat(row.segments.date),
                ad,
                country,
                language,
                DEVICES.get(row.segments.device.name, "other"),
                PLACEMENT,
                int(row.metrics.impressions),
                int(row.metrics.clicks),
                int(row.metrics.cost_micros) // MICROS_PER_MINOR,
            )

    def daily_totals(self, window: Window) -> dict[dt.date, dict[str, int]]:
        """The customer's own per-day totals (one cheap query) for the quality check."""
        totals: dict[dt.date, dict[str, int]] = {}
        for row in self._stream(TOTALS_QUERY.format(start=window.start, end=window.end)):
            if not (row.metrics.impressions or row.metrics.clicks or row.metrics.cost_micros):
                continue
            totals[dt.date.fromisoformat(row.segments.date)] = {
                "impressions": int(row.metrics.impressions),
                "clicks": int(row.metrics.clicks),
                "cost_minor": int(row.metrics.cost_micros) // MICROS_PER_MINOR,
            }
        return totals
