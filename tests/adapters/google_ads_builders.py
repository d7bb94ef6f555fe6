"""Build Google Ads SDK operations for tests: a search campaign tree with temporary resource names."""

from __future__ import annotations

from typing import Any

HEADLINES = ("Travelling for work abroad?", "Check the offer before you go", "Free and confidential helpline")
DESCRIPTIONS = (
    "Fake job and transport offers target people leaving Ukraine. Call before you travel.",
    "La Strada answers in Ukrainian, Russian and Polish, day and night.",
)


def operation(client: Any, field: str) -> tuple[Any, Any]:
    """(MutateOperation, its `create` message) for e.g. field="campaign_operation"."""
    mutate_operation = client.get_type("MutateOperation")
    return mutate_operation, getattr(mutate_operation, field).create


def campaign_tree(
    client: Any,
    customer_id: str,
    name: str,
    *,
    geo_target_ids: tuple[int, ...] = (2616,),
    language_ids: tuple[int, ...] = (1036,),
    daily_budget_micros: int = 50_000_000,
    headlines: tuple[str, ...] = HEADLINES,
    descriptions: tuple[str, ...] = DESCRIPTIONS,
    temporary_base: int = 1,
    eu_political: bool | None = False,
    final_url: str = "https://strada.org.pl/?sp_org=la-strada-poland&utm_content=la-strada-poland",
    budget_label: str | None = None,
) -> list[Any]:
    """Budget, campaign, ad group, responsive search ad and criteria, linked by temporary ids."""
    enums = client.enums
    budget_name = f"customers/{customer_id}/campaignBudgets/-{temporary_base}"
    campaign_name = f"customers/{customer_id}/campaigns/-{temporary_base + 1}"
    ad_group_name = f"customers/{customer_id}/adGroups/-{temporary_base + 2}"
    operations = []

    op, budget = operation(client, "campaign_budget_operation")
    budget.resource_name = budget_name
    budget.name = budget_label or f"{name} budget"
    budget.amount_micros = daily_budget_micros
    budget.delivery_method = enums.BudgetDeliveryMethodEnum.STANDARD
    budget.explicitly_shared = False
    operations.append(op)

    op, campaign = operation(client, "campaign_operation")
    campaign.resource_name = campaign_name
    campaign.name = name
    campaign.campaign_budget = budget_name
    campaign.advertising_channel_type = enums.AdvertisingChannelTypeEnum.SEARCH
    campaign.status = enums.CampaignStatusEnum.ENABLED
    campaign.manual_cpc.enhanced_cpc_enabled = False
    campaign.network_settings.target_google_search = True
    if eu_political is not None:
        campaign.contains_eu_political_advertising = (
            enums.EuPoliticalAdvertisingStatusEnum.CONTAINS_EU_POLITICAL_ADVERTISING
            if eu_political
            else enums.EuPoliticalAdvertisingStatusEnum.DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING
        )
    operations.append(op)

    op, ad_group = operation(client, "ad_group_operation")
    ad_group.resource_name = ad_group_name
    ad_group.name = f"{name} ad group"
    ad_group.campaign = campaign_name
    ad_group.status = enums.AdGroupStatusEnum.ENABLED
    ad_group.cpc_bid_micros = 500_000
    operations.append(op)

    op, ad_group_ad = operation(client, "ad_group_ad_operation")
    ad_group_ad.ad_group = ad_group_name
    ad_group_ad.status = enums.AdGroupAdStatusEnum.ENABLED
    ad = ad_group_ad.ad
    ad.final_urls.append(final_url)
    for text in headlines:
        asset = client.get_type("AdTextAsset")
        asset.text = text
        ad.responsive_search_ad.headlines.append(asset)
    for text in descriptions:
        asset = client.get_type("AdTextAsset")
        asset.text = text
        ad.responsive_search_ad.descriptions.append(asset)
    ad.responsive_search_ad.path1 = "help"
    operations.append(op)

    for geo_id in geo_target_ids:
        op, criterion = operation(client, "campaign_criterion_operation")
        criterion.campaign = campaign_name
        criterion.location.geo_target_constant = f"geoTargetConstants/{geo_id}"
        operations.append(op)
    for language_id in language_ids:
        op, criterion = operation(client, "campaign_criterion_operation")
        criterion.campaign = campaign_name
        criterion.language.language_constant = f"languageConstants/{language_id}"
        operations.append(op)
    return operations


def search(client: Any, customer_id: str, query: str) -> list[Any]:
    return list(client.get_service("GoogleAdsService").search(customer_id=customer_id, query=query))


def error_codes(failure: Any) -> list[tuple[str, str]]:
    """[(category, code name)] of a GoogleAdsFailure, e.g. ("field_error", "REQUIRED")."""
    codes = []
    for error in failure.errors:
        category = type(error.error_code).pb(error.error_code).WhichOneof("error_code")
        codes.append((category, getattr(error.error_code, category).name))
    return codes
