"""Meta Graph emulators throughput with the real facebook-business SDK: creating a brief-like campaign
(19 countries, one ad set per country and language, one ad each) and pulling 7 months of simulated
daily insights by country and device, sync and async. Prints the figures and saves them under
bench/results/. Run: `.venv/bin/python -m bench.meta_sandbox` (or `make bench`)."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from bench._results import flatten, record


def main() -> dict[str, Any]:
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    from facebook_business.adobjects.adaccount import AdAccount
    from facebook_business.api import FacebookAdsApi

    from ad_emulators.clock import EmulatorClock
    from ad_emulators.meta.server import MetaGraphServer, configure_sdk
    from safepassage.services.campaign_config import load_campaign_config

    config = load_campaign_config()
    clock = EmulatorClock(dt.datetime(2022, 3, 25, 9, tzinfo=dt.UTC))
    server = MetaGraphServer(clock=clock).start()
    figures: dict[str, Any] = {}
    try:
        configure_sdk(server.url, server.credentials)
        account = AdAccount(server.account_ids[0])
        started = time.perf_counter()
        campaign = account.create_campaign(
            params={
                "name": "Ukraine response 2022",
                "objective": "OUTCOME_AWARENESS",
                "special_ad_categories": [],
            }
        )
        calls = 1
        for country in config.countries:
            organisations = config.organisations_for(country.code)
            for index, code in enumerate(country.languages):
                language = config.language(code)
                org = organisations[index % len(organisations)]
                ad_set = account.create_ad_set(
                    params={
                        "name": f"{country.code} {code}",
                        "campaign_id": campaign["id"],
                        "daily_budget": int(
                            config.budget.country_cap(country.code) * 20 // len(country.languages)
                        ),
                        "targeting": {
                            "geo_locations": {"countries": [country.meta_country_code]},
                            "locales": list(language.meta_locale_ids),
                        },
                        "dsa_beneficiary": "STOP THE TRAFFIK",
                        "dsa_payor": "STOP THE TRAFFIK",
                    }
                )
                creative = account.create_ad_creative(
                    params={
                        "name": f"{country.code} {code}",
                        "object_story_spec": {
                            "page_id": "1",
                            "link_data": {"link": f"{org.url}?utm_content={org.id}", "message": org.name},
                        },
                    }
                )
                account.create_ad(
                    params={
                        "name": f"{country.code} {code}",
                        "adset_id": ad_set["id"],
                        "creative": {"creative_id": creative["id"]},
                    }
                )
                calls += 3
        seconds = time.perf_counter() - started
        figures.update(
            create_calls=calls,
            create_seconds=round(seconds, 3),
            create_calls_per_second=round(calls / seconds, 1),
        )

        batch = FacebookAdsApi.get_default_api().new_batch()
        for index in range(50):
            account.create_campaign(
                params={
                    "name": f"batch {index}",
                    "objective": "OUTCOME_AWARENESS",
                    "special_ad_categories": [],
                },
                batch=batch,
            )
        started = time.perf_counter()
        batch.execute()
        figures["batch_of_50_seconds"] = round(time.perf_counter() - started, 3)

        clock.set(dt.datetime(2022, 11, 1, tzinfo=dt.UTC))
        params = {
            "level": "ad",
            "time_range": {"since": "2022-03-25", "until": "2022-10-31"},
            "time_increment": 1,
            "breakdowns": ["country", "device_platform"],
            "limit": 500,
        }
        fields = ["ad_id", "impressions", "reach", "clicks", "spend", "actions"]
        started = time.perf_counter()
        rows = list(account.get_insights(fields=fields, params=params))
        figures.update(
            sync_insights_rows=len(rows), sync_insights_seconds=round(time.perf_counter() - started, 3)
        )

        started = time.perf_counter()
        run = account.get_insights(fields=fields, params=params, is_async=True)
        while run.api_get()["async_status"] != "Job Completed":
            pass
        async_rows = list(run.get_result(params={"limit": 500}))
        figures.update(
            async_insights_rows=len(async_rows),
            async_insights_seconds=round(time.perf_counter() - started, 3),
        )
        figures["simulated_spend_eur"] = round(sum(float(row["spend"]) for row in rows), 2)
        figures["simulated_impressions"] = sum(int(row["impressions"]) for row in rows)
        figures["requests_logged"] = len(server.log)
    finally:
        server.stop()
    for name, value in figures.items():
        print(f"{name:32} {value}")
    record("meta_sandbox", flatten(figures))
    return figures


if __name__ == "__main__":
    main()
