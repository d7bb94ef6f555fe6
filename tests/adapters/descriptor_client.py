"""A client written only from a emulators descriptor and the SDKs' own docs: no SafePassage imports.

    python descriptor_client.py DESCRIPTOR create   # one campaign tree on each platform
    python descriptor_client.py DESCRIPTOR report   # read them back, with metrics

Prints one JSON object. Used by tests/adapters/test_sandbox_descriptor.py against a
`ad-emulators serve` subprocess; it is also the smallest example of talking to the emulators.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def google_ads(descriptor: dict, action: str) -> dict:
    section = descriptor["google_ads"]
    os.environ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = section["ca_cert"]  # trust the emulators' certificate
    from google.ads.googleads.client import GoogleAdsClient

    client = GoogleAdsClient.load_from_dict(section["client_config"], version="v26")
    customer_id = section["customer_ids"][0]
    service = client.get_service("GoogleAdsService")
    if action == "create":
        budget, campaign, ad_group = (
            f"customers/{customer_id}/{kind}/-{n}"
            for n, kind in enumerate(("campaignBudgets", "campaigns", "adGroups"), start=1)
        )
        operations = [client.get_type("MutateOperation") for _ in range(6)]
        new_budget = operations[0].campaign_budget_operation.create
        new_budget.resource_name, new_budget.name, new_budget.amount_micros = (
            budget,
            "descriptor budget",
            20_000_000,
        )
        new_campaign = operations[1].campaign_operation.create
        new_campaign.resource_name, new_campaign.name, new_campaign.campaign_budget = (
            campaign,
            "descriptor",
            budget,
        )
        new_campaign.advertising_channel_type = client.enums.AdvertisingChannelTypeEnum.SEARCH
        new_campaign.contains_eu_political_advertising = (
            client.enums.EuPoliticalAdvertisingStatusEnum.DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING
        )
        new_campaign.manual_cpc.enhanced_cpc_enabled = False
        new_group = operations[2].ad_group_operation.create
        new_group.resource_name, new_group.name, new_group.campaign = ad_group, "descriptor group", campaign
        new_ad = operations[3].ad_group_ad_operation.create
        new_ad.ad_group = ad_group
        new_ad.ad.final_urls.append("https://www.lastrada.org.ua/")
        for text in ("Job offer abroad?", "Check it before you go", "Free helpline"):
            headline = client.get_type("AdTextAsset")
            headline.text = text
            new_ad.ad.responsive_search_ad.headlines.append(headline)
        for text in ("Call La Strada before you travel.", "Confidential advice in Ukrainian."):
            description = client.get_type("AdTextAsset")
            description.text = text
            new_ad.ad.responsive_search_ad.descriptions.append(description)
        operations[4].campaign_criterion_operation.create.campaign = campaign
        operations[
            4
        ].campaign_criterion_operation.create.location.geo_target_constant = "geoTargetConstants/2616"
        operations[5].campaign_criterion_operation.create.campaign = campaign
        operations[
            5
        ].campaign_criterion_operation.create.language.language_constant = "languageConstants/1036"
        response = service.mutate(customer_id=customer_id, mutate_operations=operations)
        return {"created": [r.campaign_result.resource_name for r in response.mutate_operation_responses][1]}
    rows = service.search(
        customer_id=customer_id, query="SELECT campaign.name, campaign.status FROM campaign"
    )
    report = service.search_stream(
        customer_id=customer_id,
        query="SELECT campaign.name, segments.date, metrics.impressions, metrics.clicks, metrics.cost_micros "
        "FROM campaign WHERE segments.date BETWEEN '2022-03-25' AND '2022-03-31'",
    )
    days = sorted({row.segments.date for batch in report for row in batch.results})
    return {"campaigns": [row.campaign.name for row in rows], "report_days": days}


def meta(descriptor: dict, action: str) -> dict:
    section = descriptor["meta"]
    from facebook_business.adobjects.adaccount import AdAccount
    from facebook_business.api import FacebookAdsApi
    from facebook_business.session import FacebookSession

    FacebookSession.GRAPH = section["graph_url"]
    FacebookAdsApi.init(
        app_id=section["app_id"],
        app_secret=section["app_secret"],
        access_token=section["access_token"],
        api_version=section["api_version"],
        crash_log=False,
    )
    account = AdAccount(section["ad_account_ids"][0])
    if action == "create":
        campaign = account.create_campaign(
            params={
                "name": "descriptor",
                "objective": "OUTCOME_AWARENESS",
                "special_ad_categories": [],
                "status": "PAUSED",
            }
        )
        return {"created": campaign["id"]}
    return {"campaigns": [c["name"] for c in account.get_campaigns(fields=["name"])]}


def main() -> None:
    descriptor = json.loads(Path(sys.argv[1]).read_text())
    action = sys.argv[2]
    print(json.dumps({"google_ads": google_ads(descriptor, action), "meta": meta(descriptor, action)}))


if __name__ == "__main__":
    main()
