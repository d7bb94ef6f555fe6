"""Campaigns that deliver in the emulators, for the performance pull tests (Google Ads and Meta)."""

from __future__ import annotations

from typing import Any

from facebook_business.adobjects.adaccount import AdAccount

from tests.adapters.google_ads_builders import campaign_tree

LA_STRADA_PL = (
    "https://strada.org.pl/?utm_source=google_ads&utm_medium=cpc&utm_campaign=ukraine-2022_jobs"
    "&utm_content=v1&sp_org=la-strada-poland&sp_country=PL&sp_lang=uk"
)
STOP_APP = (
    "https://www.stopthetraffik.org/stop-app/?utm_source=meta&utm_medium=paid_social"
    "&utm_campaign=ukraine-2022_app&utm_content=v1&sp_org=stop-the-traffik&sp_country=RO&sp_lang=ru"
)
EU_DSA = {"dsa_beneficiary": "STOP THE TRAFFIK", "dsa_payor": "STOP THE TRAFFIK"}


def google_campaigns(client: Any, customer_id: str) -> None:
    """Two single-country, single-language campaigns: PL/uk to La Strada, RO/ru to the STOP APP."""
    operations = [
        *campaign_tree(
            client, customer_id, "SP|PL|uk", final_url=LA_STRADA_PL, daily_budget_micros=40_000_000
        ),
        *campaign_tree(
            client,
            customer_id,
            "SP|RO|ru",
            geo_target_ids=(2642,),
            language_ids=(1031,),
            final_url=STOP_APP.replace("meta", "google_ads"),
            temporary_base=10,
            daily_budget_micros=20_000_000,
        ),
    ]
    client.get_service("GoogleAdsService").mutate(customer_id=customer_id, mutate_operations=operations)


def meta_campaigns(account_id: str, campaigns: int = 2) -> None:
    """`campaigns` campaigns, each with two ad sets (PL uk → La Strada, RO ru → STOP APP)."""
    account = AdAccount(account_id)
    for index in range(campaigns):
        campaign = account.create_campaign(
            params={
                "name": f"SP|meta|{index}",
                "objective": "OUTCOME_AWARENESS",
                "special_ad_categories": [],
                "status": "ACTIVE",
            }
        )
        for country, locale, link in (("PL", 52, LA_STRADA_PL), ("RO", 17, STOP_APP)):
            ad_set = account.create_ad_set(
                params={
                    "name": f"SP|{country}|{index}",
                    "campaign_id": campaign["id"],
                    "daily_budget": 3000,
                    "billing_event": "IMPRESSIONS",
                    "optimization_goal": "REACH",
                    "targeting": {"geo_locations": {"countries": [country]}, "locales": [locale]},
                    "status": "ACTIVE",
                    **EU_DSA,
                }
            )
            creative = account.create_ad_creative(
                params={
                    "name": f"creative {country} {index}",
                    "object_story_spec": {
                        "page_id": "1001",
                        "link_data": {"link": link, "message": f"Help {country} {index}", "name": "Help"},
                    },
                }
            )
            account.create_ad(
                params={
                    "name": f"ad {country} {index}",
                    "adset_id": ad_set["id"],
                    "creative": {"creative_id": creative["id"]},
                    "status": "ACTIVE",
                }
            )
