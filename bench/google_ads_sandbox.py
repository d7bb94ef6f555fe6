"""Google Ads emulator throughput through the official SDK: a 19-country campaign tree in one request,
a 10,000-operation mutate, and a 7-month performance report. Prints figures and saves them under
bench/results/. Run: `.venv/bin/python -m bench.google_ads_sandbox` (or `make bench`)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path

from ad_emulators.clock import EmulatorClock
from ad_emulators.google_ads.service import GoogleAdsEmulator
from bench._results import flatten, record
from safepassage.services.campaign_config import load_campaign_config

ADS_PER_GROUP = 3
GROUPS_PER_CAMPAIGN = 3


def tree_operations(client, customer_id: str) -> list:
    """One campaign per (country, language) of config/, each with ad groups, ads and criteria."""
    config = load_campaign_config()
    languages = {language.code: language for language in config.languages}
    operations, temporary = [], 0

    def new(field: str):
        mutate_operation = client.get_type("MutateOperation")
        operations.append(mutate_operation)
        return getattr(mutate_operation, field).create

    for country in config.countries:
        for code in country.languages:
            temporary += 1
            budget_name = f"customers/{customer_id}/campaignBudgets/-{temporary}"
            budget = new("campaign_budget_operation")
            budget.resource_name, budget.name, budget.amount_micros = (
                budget_name,
                f"{country.code}-{code}",
                40_000_000,
            )
            temporary += 1
            campaign_name = f"customers/{customer_id}/campaigns/-{temporary}"
            campaign = new("campaign_operation")
            campaign.resource_name, campaign.name, campaign.campaign_budget = (
                campaign_name,
                f"{country.code}-{code}",
                budget_name,
            )
            campaign.advertising_channel_type = client.enums.AdvertisingChannelTypeEnum.SEARCH
            campaign.contains_eu_political_advertising = (
                client.enums.EuPoliticalAdvertisingStatusEnum.DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING
            )
            campaign.manual_cpc.enhanced_cpc_enabled = False
            location = new("campaign_criterion_operation")
            location.campaign, location.location.geo_target_constant = (
                campaign_name,
                (f"geoTargetConstants/{country.google_geo_target_id}"),
            )
            language = new("campaign_criterion_operation")
            language.campaign = campaign_name
            language.language.language_constant = f"languageConstants/{languages[code].google_language_id}"
            for group_number in range(GROUPS_PER_CAMPAIGN):
                temporary += 1
                group_name = f"customers/{customer_id}/adGroups/-{temporary}"
                group = new("ad_group_operation")
                group.resource_name, group.name, group.campaign = (
                    group_name,
                    f"group {group_number}",
                    campaign_name,
                )
                for ad_number in range(ADS_PER_GROUP):
                    ad = new("ad_group_ad_operation")
                    ad.ad_group = group_name
                    ad.ad.final_urls.append(f"https://example.org/{country.code}/{code}/{ad_number}")
                    for text in (f"Headline {ad_number}", "Check the job offer", "Free helpline"):
                        asset = client.get_type("AdTextAsset")
                        asset.text = text
                        ad.ad.responsive_search_ad.headlines.append(asset)
                    for text in ("Call before you travel.", "Confidential advice."):
                        asset = client.get_type("AdTextAsset")
                        asset.text = text
                        ad.ad.responsive_search_ad.descriptions.append(asset)
    return operations


def main() -> dict:
    clock = EmulatorClock(dt.datetime(2022, 3, 25, 8, tzinfo=dt.UTC))
    with tempfile.TemporaryDirectory() as state:
        emulators = GoogleAdsEmulator(state_dir=Path(state), clock=clock)
        emulators.start()
        try:
            os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(emulators.ca_cert)
            os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
            from google.ads.googleads.client import GoogleAdsClient

            client = GoogleAdsClient.load_from_dict(emulators.client_config(), version="v26")
            customer_id = emulators.customer_ids[0]
            service = client.get_service("GoogleAdsService")
            figures: dict = {}

            operations = tree_operations(client, customer_id)
            started = time.perf_counter()
            service.mutate(customer_id=customer_id, mutate_operations=operations)
            figures["tree_operations"] = len(operations)
            figures["tree_mutate_seconds"] = round(time.perf_counter() - started, 3)

            labels = []
            for number in range(10_000):
                label_operation = client.get_type("LabelOperation")
                label_operation.create.name = f"label {number}"
                labels.append(label_operation)
            started = time.perf_counter()
            client.get_service("LabelService").mutate_labels(customer_id=customer_id, operations=labels)
            figures["labels_10000_mutate_seconds"] = round(time.perf_counter() - started, 3)

            started = time.perf_counter()
            rows = list(
                service.search(
                    customer_id=customer_id, query="SELECT ad_group_ad.resource_name FROM ad_group_ad"
                )
            )
            figures["list_ads"] = len(rows)
            figures["list_ads_seconds"] = round(time.perf_counter() - started, 3)

            clock.set(dt.datetime(2022, 11, 1, tzinfo=dt.UTC))
            started = time.perf_counter()
            report = [
                row
                for batch in service.search_stream(
                    customer_id=customer_id,
                    query="SELECT campaign.id, segments.date, segments.device, metrics.impressions, "
                    "metrics.clicks, metrics.cost_micros FROM campaign "
                    "WHERE segments.date BETWEEN '2022-03-25' AND '2022-10-31'",
                )
                for row in batch.results
            ]
            figures["report_rows"] = len(report)
            figures["report_seconds"] = round(time.perf_counter() - started, 3)

            started = time.perf_counter()  # same range, other breakdown: the simulation is not re-run
            countries = service.search(
                customer_id=customer_id,
                query="SELECT geographic_view.country_criterion_id, metrics.impressions FROM geographic_view "
                "WHERE segments.date BETWEEN '2022-03-25' AND '2022-10-31'",
            )
            figures["country_report_rows"] = len(list(countries))
            figures["country_report_same_range_seconds"] = round(time.perf_counter() - started, 3)

            started = time.perf_counter()  # the daily pull: a 28-day lookback by day and device
            lookback = service.search(
                customer_id=customer_id,
                query="SELECT campaign.id, segments.date, segments.device, metrics.impressions, "
                "metrics.clicks, metrics.cost_micros, metrics.conversions FROM campaign "
                "WHERE segments.date BETWEEN '2022-10-04' AND '2022-10-31'",
            )
            figures["lookback_28_days_rows"] = len(list(lookback))
            figures["lookback_28_days_seconds"] = round(time.perf_counter() - started, 3)
        finally:
            emulators.stop()
    record("google_ads_sandbox", flatten(figures))
    for key, value in figures.items():
        print(f"{key:32} {value}")
    return figures


if __name__ == "__main__":
    main()
