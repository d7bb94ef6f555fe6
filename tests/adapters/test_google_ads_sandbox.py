"""The official google-ads SDK (never stubbed) against the Google Ads emulator."""

from __future__ import annotations

import datetime as dt

import pytest
from google.ads.googleads.errors import GoogleAdsException

from tests.adapters.google_ads_builders import campaign_tree, error_codes, operation, search


@pytest.fixture
def customer_id(emulators):
    return emulators.customer_ids[0]


def test_campaign_tree_is_created_atomically_with_temporary_ids_and_read_back(google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    response = service.mutate(
        customer_id=customer_id,
        mutate_operations=campaign_tree(google_ads_client, customer_id, "PL uk: safe travel"),
    )

    names = [
        r.campaign_result.resource_name or r.campaign_budget_result.resource_name
        for r in response.mutate_operation_responses[:2]
    ]
    assert all(name.startswith(f"customers/{customer_id}/") and "/-" not in name for name in names)
    criteria = [r.campaign_criterion_result.resource_name for r in response.mutate_operation_responses[4:]]
    assert len(criteria) == 2 and all("~" in name for name in criteria)

    rows = search(
        google_ads_client,
        customer_id,
        "SELECT campaign.id, campaign.name, campaign.status, campaign.contains_eu_political_advertising, "
        "campaign_budget.amount_micros FROM campaign WHERE campaign.name LIKE 'PL uk%' ORDER BY campaign.id",
    )
    assert len(rows) == 1
    campaign = rows[0].campaign
    assert campaign.name == "PL uk: safe travel"
    assert campaign.resource_name == names[1]
    assert campaign.status.name == "ENABLED"
    assert campaign.contains_eu_political_advertising.name == "DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING"
    assert rows[0].campaign_budget.amount_micros == 50_000_000

    streamed = [
        row
        for batch in service.search_stream(
            customer_id=customer_id,
            query="SELECT campaign_criterion.criterion_id, campaign_criterion.type, campaign.name "
            f"FROM campaign_criterion WHERE campaign.id = {campaign.id} "
            "ORDER BY campaign_criterion.criterion_id",
        )
        for row in batch.results
    ]
    assert [(r.campaign_criterion.criterion_id, r.campaign_criterion.type_.name) for r in streamed] == [
        (1036, "LANGUAGE"),
        (2616, "LOCATION"),
    ]
    ads = search(
        google_ads_client,
        customer_id,
        "SELECT ad_group_ad.ad.responsive_search_ad.headlines, ad_group.name, ad_group_ad.status "
        "FROM ad_group_ad WHERE ad_group_ad.status = ENABLED",
    )
    headlines = ads[0].ad_group_ad.ad.responsive_search_ad.headlines
    assert headlines[0].text == "Travelling for work abroad?"
    assert ads[0].ad_group.name == "PL uk: safe travel ad group"


def test_one_bad_operation_fails_the_whole_atomic_request_with_its_location(google_ads_client, customer_id):
    too_long = "A headline that is far longer than thirty characters"
    operations = campaign_tree(
        google_ads_client, customer_id, "RO uk", headlines=("Short one", too_long, "Third")
    )
    with pytest.raises(GoogleAdsException) as raised:
        google_ads_client.get_service("GoogleAdsService").mutate(
            customer_id=customer_id, mutate_operations=operations
        )

    assert error_codes(raised.value.failure) == [("string_length_error", "TOO_LONG")]
    path = [(e.field_name, e.index) for e in raised.value.failure.errors[0].location.field_path_elements]
    assert path[:2] == [("mutate_operations", 3), ("ad_group_ad_operation", 0)]
    assert ("headlines", 1) in path
    assert raised.value.request_id
    assert search(google_ads_client, customer_id, "SELECT campaign.id FROM campaign") == []
    assert search(google_ads_client, customer_id, "SELECT campaign_budget.id FROM campaign_budget") == []


def test_campaign_without_eu_political_declaration_is_refused(google_ads_client, customer_id):
    operations = campaign_tree(google_ads_client, customer_id, "DE uk", eu_political=None)
    with pytest.raises(GoogleAdsException) as raised:
        google_ads_client.get_service("GoogleAdsService").mutate(
            customer_id=customer_id, mutate_operations=operations
        )

    assert ("field_error", "REQUIRED") in error_codes(raised.value.failure)
    fields = [e.field_name for e in raised.value.failure.errors[0].location.field_path_elements]
    assert fields[-1] == "contains_eu_political_advertising"


@pytest.mark.parametrize(
    ("headlines", "descriptions", "expected"),
    [
        (("One", "Two"), None, ("collection_size_error", "TOO_FEW")),
        (tuple(f"Headline {n}" for n in range(16)), None, ("collection_size_error", "TOO_MANY")),
        (None, ("Only one description",), ("collection_size_error", "TOO_FEW")),
        (None, ("x" * 91, "Fine"), ("string_length_error", "TOO_LONG")),
    ],
)
def test_responsive_search_ad_limits(google_ads_client, customer_id, headlines, descriptions, expected):
    options = {}
    if headlines is not None:
        options["headlines"] = headlines
    if descriptions is not None:
        options["descriptions"] = descriptions
    operations = campaign_tree(google_ads_client, customer_id, "limits", **options)
    with pytest.raises(GoogleAdsException) as raised:
        google_ads_client.get_service("GoogleAdsService").mutate(
            customer_id=customer_id, mutate_operations=operations
        )
    assert error_codes(raised.value.failure) == [expected]


def test_campaign_names_stay_taken_after_removal(google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    created = service.mutate(
        customer_id=customer_id, mutate_operations=campaign_tree(google_ads_client, customer_id, "LT uk")
    )
    campaign_name = created.mutate_operation_responses[1].campaign_result.resource_name
    remove = google_ads_client.get_type("CampaignOperation")
    remove.remove = campaign_name
    google_ads_client.get_service("CampaignService").mutate_campaigns(
        customer_id=customer_id, operations=[remove]
    )

    rows = search(
        google_ads_client, customer_id, "SELECT campaign.status FROM campaign WHERE campaign.name = 'LT uk'"
    )
    assert [r.campaign.status.name for r in rows] == ["REMOVED"]
    again = campaign_tree(google_ads_client, customer_id, "LT uk", budget_label="LT uk budget 2")
    with pytest.raises(GoogleAdsException) as raised:
        service.mutate(customer_id=customer_id, mutate_operations=again)
    assert error_codes(raised.value.failure)[0] == ("campaign_error", "DUPLICATE_CAMPAIGN_NAME")


def test_partial_failure_reports_each_failed_operation(google_ads_client, customer_id):
    operations = []
    for name in ("Good one", "", "Good two", "x" * 81):
        label_operation = google_ads_client.get_type("LabelOperation")
        label_operation.create.name = name
        operations.append(label_operation)
    response = google_ads_client.get_service("LabelService").mutate_labels(
        request={"customer_id": customer_id, "operations": operations, "partial_failure": True}
    )

    assert [bool(r.resource_name) for r in response.results] == [True, False, True, False]
    failure_type = google_ads_client.get_type("GoogleAdsFailure")
    failure = type(failure_type).deserialize(response.partial_failure_error.details[0].value)
    by_index = {e.location.field_path_elements[0].index: e for e in failure.errors}
    assert sorted(by_index) == [1, 3]
    assert error_codes(failure) == [("field_error", "REQUIRED"), ("string_length_error", "TOO_LONG")]
    assert all(e.location.field_path_elements[0].field_name == "operations" for e in failure.errors)
    labels = search(google_ads_client, customer_id, "SELECT label.name FROM label ORDER BY label.name")
    assert [r.label.name for r in labels] == ["Good one", "Good two"]


def test_partial_failure_through_google_ads_service_keeps_the_good_tree(google_ads_client, customer_id):
    good = campaign_tree(google_ads_client, customer_id, "EE uk")
    bad = campaign_tree(google_ads_client, customer_id, "LV uk", temporary_base=10, daily_budget_micros=-5)
    response = google_ads_client.get_service("GoogleAdsService").mutate(
        request={"customer_id": customer_id, "mutate_operations": good + bad, "partial_failure": True}
    )

    failure = type(google_ads_client.get_type("GoogleAdsFailure")).deserialize(
        response.partial_failure_error.details[0].value
    )
    failed = sorted({e.location.field_path_elements[0].index for e in failure.errors})
    assert failed == list(range(len(good), len(good + bad)))  # the bad budget, then everything under it
    assert error_codes(failure)[0] == ("campaign_budget_error", "NEGATIVE_MONEY_AMOUNT")
    assert ("mutate_error", "RESOURCE_NOT_FOUND") in error_codes(failure)
    assert [str(r) == "" for r in response.mutate_operation_responses] == [False] * len(good) + [True] * len(
        bad
    )
    names = [
        r.campaign.name for r in search(google_ads_client, customer_id, "SELECT campaign.name FROM campaign")
    ]
    assert names == ["EE uk"]


def test_validate_only_creates_nothing(google_ads_client, customer_id):
    response = google_ads_client.get_service("GoogleAdsService").mutate(
        request={
            "customer_id": customer_id,
            "mutate_operations": campaign_tree(google_ads_client, customer_id, "BG uk"),
            "validate_only": True,
        }
    )
    assert len(response.mutate_operation_responses) == 0
    assert search(google_ads_client, customer_id, "SELECT campaign.id FROM campaign") == []
    with pytest.raises(GoogleAdsException):  # validation still runs
        google_ads_client.get_service("GoogleAdsService").mutate(
            request={
                "customer_id": customer_id,
                "mutate_operations": campaign_tree(
                    google_ads_client, customer_id, "BG uk", eu_political=None
                ),
                "validate_only": True,
            }
        )


@pytest.mark.slow
def test_operation_cap_and_fixed_search_pages(google_ads_client, customer_id):
    operations = []
    for number in range(10_001):
        label_operation = google_ads_client.get_type("LabelOperation")
        label_operation.create.name = f"label {number:05d}"
        operations.append(label_operation)
    labels = google_ads_client.get_service("LabelService")
    with pytest.raises(GoogleAdsException) as raised:
        labels.mutate_labels(customer_id=customer_id, operations=operations)
    assert error_codes(raised.value.failure) == [("request_error", "TOO_MANY_MUTATE_OPERATIONS")]

    labels.mutate_labels(customer_id=customer_id, operations=operations[:10_000])
    labels.mutate_labels(customer_id=customer_id, operations=operations[10_000:])
    service = google_ads_client.get_service("GoogleAdsService")
    first_page = service.search(
        request={"customer_id": customer_id, "query": "SELECT label.name FROM label ORDER BY label.name"}
    )
    assert len(first_page._response.results) == 10_000
    assert first_page._response.next_page_token
    assert sum(1 for _ in first_page) == 10_001  # the SDK pager follows next_page_token

    with pytest.raises(GoogleAdsException) as page_size:
        list(
            service.search(
                request={"customer_id": customer_id, "query": "SELECT label.id FROM label", "page_size": 10}
            )
        )
    assert error_codes(page_size.value.failure) == [("request_error", "PAGE_SIZE_NOT_SUPPORTED")]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT campaign.nmae FROM campaign", "UNRECOGNIZED_FIELD"),
        ("SELECT campaign.id FROM campaigns", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT keyword_view.resource_name FROM keyword_view", "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT campaign.id FROM campaign WHERE campaign.id = 1 OR campaign.id = 2", "UNEXPECTED_INPUT"),
        ("SELECT campaign.id campaign.name FROM campaign", "EXPECTED_FROM"),
        ("SELECT label.name, metrics.clicks FROM label", "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"),
        ("SELECT campaign.id, segments.date, metrics.clicks FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        ("SELECT campaign.id FROM campaign WHERE campaign.status = 'RUNNING'", "BAD_ENUM_CONSTANT"),
        ("SELECT ad_group.name FROM campaign", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        ("SELECT campaign.id FROM campaign LIMIT 0", "LIMIT_VALUE_TOO_LOW"),
        (
            "SELECT campaign.id FROM campaign WHERE segments.date BETWEEN '2022-13-01' AND '2022-01-31'",
            "INVALID_DATE_FORMAT",
        ),
        (
            "SELECT metrics.impressions, segments.conversion_action FROM campaign "
            "WHERE segments.date BETWEEN '2022-03-01' AND '2022-03-31'",
            "PROHIBITED_SEGMENT_WITH_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
        ),
    ],
)
def test_unsupported_or_invalid_gaql_is_refused_with_a_query_error(
    google_ads_client, customer_id, query, code
):
    with pytest.raises(GoogleAdsException) as raised:
        search(google_ads_client, customer_id, query)
    assert error_codes(raised.value.failure) == [("query_error", code)]
    assert raised.value.error.code().name == "INVALID_ARGUMENT"


def test_gaql_filters_order_and_limit(google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    for number, (name, budget) in enumerate((("UA uk", 30), ("UA ru", 20), ("PL uk", 10))):
        service.mutate(
            customer_id=customer_id,
            mutate_operations=campaign_tree(
                google_ads_client,
                customer_id,
                name,
                daily_budget_micros=budget * 1_000_000,
                temporary_base=number * 10 + 1,
            ),
        )

    def names(where_order_limit):
        rows = search(
            google_ads_client,
            customer_id,
            f"SELECT campaign.name, campaign_budget.amount_micros FROM campaign {where_order_limit}",
        )
        return [r.campaign.name for r in rows]

    assert names("WHERE campaign.name LIKE 'UA%' ORDER BY campaign.name") == ["UA ru", "UA uk"]
    assert names("WHERE campaign.name IN ('UA uk', 'PL uk') ORDER BY campaign_budget.amount_micros DESC") == [
        "UA uk",
        "PL uk",
    ]
    assert names(
        "WHERE campaign_budget.amount_micros >= 20000000 AND campaign.status = 'ENABLED' "
        "ORDER BY campaign_budget.amount_micros LIMIT 1"
    ) == ["UA ru"]
    assert names("WHERE campaign.name != 'UA ru' AND campaign.name NOT LIKE 'PL%'") == ["UA uk"]


def test_update_with_field_mask_and_criteria_rules(google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    created = service.mutate(
        customer_id=customer_id, mutate_operations=campaign_tree(google_ads_client, customer_id, "CZ uk")
    )
    budget_name = created.mutate_operation_responses[0].campaign_budget_result.resource_name
    campaign_name = created.mutate_operation_responses[1].campaign_result.resource_name

    budget_operation = google_ads_client.get_type("CampaignBudgetOperation")
    budget_operation.update.resource_name = budget_name
    budget_operation.update.amount_micros = 75_000_000
    budget_operation.update_mask.paths.append("amount_micros")
    google_ads_client.get_service("CampaignBudgetService").mutate_campaign_budgets(
        customer_id=customer_id, operations=[budget_operation]
    )
    rows = search(
        google_ads_client,
        customer_id,
        "SELECT campaign_budget.amount_micros, campaign_budget.name FROM campaign_budget",
    )
    assert [(r.campaign_budget.amount_micros, r.campaign_budget.name) for r in rows] == [
        (75_000_000, "CZ uk budget")
    ]

    criterion_operation = google_ads_client.get_type("CampaignCriterionOperation")
    criterion_operation.create.campaign = campaign_name
    criterion_operation.create.location.geo_target_constant = "geoTargetConstants/2616"
    with pytest.raises(GoogleAdsException) as duplicate:
        google_ads_client.get_service("CampaignCriterionService").mutate_campaign_criteria(
            customer_id=customer_id, operations=[criterion_operation]
        )
    assert error_codes(duplicate.value.failure) == [("mutate_error", "RESOURCE_ALREADY_EXISTS")]

    proximity = google_ads_client.get_type("CampaignCriterionOperation")
    proximity.create.campaign = campaign_name
    proximity.create.proximity.geo_point.latitude_in_micro_degrees = 50_087_000
    proximity.create.proximity.geo_point.longitude_in_micro_degrees = 14_421_000
    proximity.create.proximity.radius = 25
    proximity.create.proximity.radius_units = google_ads_client.enums.ProximityRadiusUnitsEnum.KILOMETERS
    unknown = google_ads_client.get_type("CampaignCriterionOperation")
    unknown.create.campaign = campaign_name
    unknown.create.language.language_constant = "languageConstants/9999"
    response = google_ads_client.get_service("CampaignCriterionService").mutate_campaign_criteria(
        request={"customer_id": customer_id, "operations": [proximity, unknown], "partial_failure": True}
    )
    assert bool(response.results[0].resource_name) and not response.results[1].resource_name
    types = search(
        google_ads_client,
        customer_id,
        "SELECT campaign_criterion.type FROM campaign_criterion "
        "WHERE campaign_criterion.type IN ('PROXIMITY', 'LOCATION')",
    )
    assert sorted(r.campaign_criterion.type_.name for r in types) == ["LOCATION", "PROXIMITY"]


def test_labels_on_campaigns(google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    operations = campaign_tree(google_ads_client, customer_id, "SK uk")
    label_op, label = operation(google_ads_client, "label_operation")
    label.resource_name = f"customers/{customer_id}/labels/-50"
    label.name = "safepassage"
    link_op, link = operation(google_ads_client, "campaign_label_operation")
    link.campaign = f"customers/{customer_id}/campaigns/-2"
    link.label = label.resource_name
    service.mutate(customer_id=customer_id, mutate_operations=[*operations, label_op, link_op])

    rows = search(google_ads_client, customer_id, "SELECT campaign.name, label.name FROM campaign_label")
    assert [(r.campaign.name, r.label.name) for r in rows] == [("SK uk", "safepassage")]
    labelled = search(google_ads_client, customer_id, "SELECT campaign.labels FROM campaign")
    assert len(labelled[0].campaign.labels) == 1


DAILY_BUDGET_MICROS = 400_000_000


def test_metrics_by_date_device_country_language_and_conversion(emulators, google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    conversion_op, conversion = operation(google_ads_client, "conversion_action_operation")
    conversion.name = "Signposted to a support organisation"
    conversion.category = google_ads_client.enums.ConversionActionCategoryEnum.CONTACT
    conversion.type_ = google_ads_client.enums.ConversionActionTypeEnum.WEBPAGE
    service.mutate(
        customer_id=customer_id,
        mutate_operations=[
            conversion_op,
            *campaign_tree(
                google_ads_client,
                customer_id,
                "PL uk",
                geo_target_ids=(2616,),
                language_ids=(1036,),
                daily_budget_micros=DAILY_BUDGET_MICROS,
            ),
            *campaign_tree(
                google_ads_client,
                customer_id,
                "DE ru",
                geo_target_ids=(2276,),
                language_ids=(1031,),
                temporary_base=11,
                daily_budget_micros=DAILY_BUDGET_MICROS,
            ),
        ],
    )
    emulators.clock.set(dt.datetime(2022, 4, 8, 12, tzinfo=dt.UTC))
    between = "segments.date BETWEEN '2022-03-25' AND '2022-04-07'"

    by_day_device = search(
        google_ads_client,
        customer_id,
        "SELECT campaign.name, segments.date, segments.device, metrics.impressions, metrics.clicks, "
        f"metrics.cost_micros FROM campaign WHERE {between}",
    )
    days = {r.segments.date for r in by_day_device}
    assert min(days) >= "2022-03-25" and max(days) <= "2022-04-07" and len(days) >= 10
    assert {r.campaign.name for r in by_day_device} == {"PL uk", "DE ru"}
    impressions_by_device: dict[str, int] = {}
    for row in by_day_device:
        impressions_by_device[row.segments.device.name] = impressions_by_device.get(
            row.segments.device.name, 0
        ) + (row.metrics.impressions)
    assert impressions_by_device["MOBILE"] > 4 * impressions_by_device.get("DESKTOP", 0) > 0
    daily_cost = {}
    for row in by_day_device:
        key = (row.campaign.name, row.segments.date)
        daily_cost[key] = daily_cost.get(key, 0) + row.metrics.cost_micros
    assert max(daily_cost.values()) <= DAILY_BUDGET_MICROS  # never above the daily budget

    totals = search(
        google_ads_client,
        customer_id,
        f"SELECT campaign.name, metrics.impressions FROM campaign WHERE {between}",
    )
    assert sum(r.metrics.impressions for r in totals) == sum(r.metrics.impressions for r in by_day_device)

    countries = search(
        google_ads_client,
        customer_id,
        "SELECT geographic_view.country_criterion_id, metrics.impressions "
        f"FROM geographic_view WHERE {between}",
    )
    assert sorted(r.geographic_view.country_criterion_id for r in countries) == [2276, 2616]
    user_locations = search(
        google_ads_client,
        customer_id,
        "SELECT user_location_view.country_criterion_id, campaign.name, metrics.clicks "
        f"FROM user_location_view WHERE {between} AND user_location_view.country_criterion_id = 2616",
    )
    assert [(r.user_location_view.country_criterion_id, r.campaign.name) for r in user_locations] == [
        (2616, "PL uk")
    ]

    # Google reports no language segment: a campaign's language is its language criterion.
    languages = {
        r.campaign.name: r.campaign_criterion.criterion_id
        for r in search(
            google_ads_client,
            customer_id,
            "SELECT campaign.name, campaign_criterion.criterion_id "
            "FROM campaign_criterion WHERE campaign_criterion.type = LANGUAGE",
        )
    }
    assert languages == {"PL uk": 1036, "DE ru": 1031}

    # Signposting is rare (about 1 in 5,000 clicks) and attributed up to 28 days late: ask about
    # two months once they have all been reported, so the figure cannot be zero by chance.
    emulators.clock.set(dt.datetime(2022, 6, 30, 12, tzinfo=dt.UTC))
    season = "segments.date BETWEEN '2022-03-25' AND '2022-05-31'"
    conversions = search(
        google_ads_client,
        customer_id,
        "SELECT segments.conversion_action_name, metrics.conversions FROM customer "
        f"WHERE {season} AND segments.conversion_action_category = 'CONTACT'",
    )
    all_conversions = search(
        google_ads_client,
        customer_id,
        f"SELECT metrics.conversions FROM customer WHERE {season}",
    )
    assert sum(r.metrics.conversions for r in conversions) == all_conversions[0].metrics.conversions > 0
    assert {r.segments.conversion_action_name for r in conversions} == {
        "Signposted to a support organisation"
    }

    before = search(
        google_ads_client,
        customer_id,
        "SELECT metrics.impressions FROM customer WHERE segments.date BETWEEN '2022-03-01' AND '2022-03-24'",
    )
    assert before == []  # nothing served before the campaigns existed


def test_paused_campaign_stops_delivery(emulators, google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    created = service.mutate(
        customer_id=customer_id, mutate_operations=campaign_tree(google_ads_client, customer_id, "HU uk")
    )
    emulators.clock.set(dt.datetime(2022, 4, 1, tzinfo=dt.UTC))
    pause = google_ads_client.get_type("CampaignOperation")
    pause.update.resource_name = created.mutate_operation_responses[1].campaign_result.resource_name
    pause.update.status = google_ads_client.enums.CampaignStatusEnum.PAUSED
    pause.update_mask.paths.append("status")
    google_ads_client.get_service("CampaignService").mutate_campaigns(
        customer_id=customer_id, operations=[pause]
    )
    emulators.clock.set(dt.datetime(2022, 4, 10, tzinfo=dt.UTC))

    rows = search(
        google_ads_client,
        customer_id,
        "SELECT segments.date, metrics.impressions FROM campaign "
        "WHERE segments.date BETWEEN '2022-03-25' AND '2022-04-09' AND metrics.impressions > 0",
    )
    days = sorted(r.segments.date for r in rows)
    assert days and days[-1] <= "2022-03-31"


def test_the_same_ads_under_other_ids_deliver_the_same(emulators, google_ads_client, customer_id):
    # A create retried after a lost answer gives the same ad other ids: delivery keys by names and
    # content, so the chaos run's figures can equal the fault-free run's.
    service = google_ads_client.get_service("GoogleAdsService")
    query = (
        "SELECT ad_group_ad.resource_name, segments.date, segments.device, metrics.impressions, "
        "metrics.clicks, metrics.cost_micros FROM ad_group_ad "
        "WHERE segments.date BETWEEN '2022-03-25' AND '2022-04-07' AND campaign.name = 'PL uk'"
    )

    def delivered(ids_used_before: int) -> tuple[set[str], list[tuple[object, ...]]]:
        emulators.reset()
        emulators.clock.set(dt.datetime(2022, 3, 24, tzinfo=dt.UTC))
        for number in range(ids_used_before):
            service.mutate(
                customer_id=customer_id,
                mutate_operations=campaign_tree(
                    google_ads_client, customer_id, f"other {number}", temporary_base=number * 10 + 11
                ),
            )
        service.mutate(
            customer_id=customer_id, mutate_operations=campaign_tree(google_ads_client, customer_id, "PL uk")
        )
        emulators.clock.set(dt.datetime(2022, 4, 8, tzinfo=dt.UTC))
        rows = search(google_ads_client, customer_id, query)
        return {r.ad_group_ad.resource_name for r in rows}, sorted(
            (
                r.segments.date,
                r.segments.device,
                r.metrics.impressions,
                r.metrics.clicks,
                r.metrics.cost_micros,
            )
            for r in rows
        )

    first_ids, first = delivered(0)
    other_ids, other = delivered(2)
    assert first_ids.isdisjoint(other_ids)  # the ad really got another id
    assert first and sum(row[2] for row in first) > 0
    assert other == first


def test_a_budget_that_is_not_shared_serves_one_campaign(google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    created = service.mutate(
        customer_id=customer_id, mutate_operations=campaign_tree(google_ads_client, customer_id, "IE uk")
    )
    budget_name = created.mutate_operation_responses[0].campaign_budget_result.resource_name
    second = google_ads_client.get_type("CampaignOperation")
    second.create.name = "IE ru"
    second.create.campaign_budget = budget_name
    second.create.advertising_channel_type = google_ads_client.enums.AdvertisingChannelTypeEnum.SEARCH
    second.create.contains_eu_political_advertising = (
        google_ads_client.enums.EuPoliticalAdvertisingStatusEnum.DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING
    )
    campaigns = google_ads_client.get_service("CampaignService")
    with pytest.raises(GoogleAdsException) as raised:
        campaigns.mutate_campaigns(customer_id=customer_id, operations=[second])
    assert error_codes(raised.value.failure) == [
        ("campaign_budget_error", "CANNOT_USE_IMPLICITLY_SHARED_CAMPAIGN_BUDGET_WITH_MULTIPLE_CAMPAIGNS")
    ]

    remove = google_ads_client.get_type("CampaignOperation")
    remove.remove = created.mutate_operation_responses[1].campaign_result.resource_name
    campaigns.mutate_campaigns(customer_id=customer_id, operations=[remove])
    response = campaigns.mutate_campaigns(
        request={
            "customer_id": customer_id,
            "operations": [second],
            "response_content_type": "MUTABLE_RESOURCE",
        }
    )
    assert response.results[0].campaign.name == "IE ru"  # the budget is free once its campaign is removed
    assert response.results[0].campaign.id > 0


def test_temporary_ids_must_be_negative_unique_and_created_first(google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    tree = campaign_tree(google_ads_client, customer_id, "FR uk")
    with pytest.raises(GoogleAdsException) as out_of_order:  # the campaign before its budget
        service.mutate(customer_id=customer_id, mutate_operations=[tree[1], tree[0], *tree[2:]])
    assert error_codes(out_of_order.value.failure)[0] == ("mutate_error", "RESOURCE_NOT_FOUND")
    assert out_of_order.value.failure.errors[0].location.field_path_elements[0].index == 0

    twice = campaign_tree(google_ads_client, customer_id, "NL uk")
    again = campaign_tree(google_ads_client, customer_id, "ES uk")  # same temporary ids -1, -2, -3
    with pytest.raises(GoogleAdsException) as reused:
        service.mutate(customer_id=customer_id, mutate_operations=twice + again)
    assert ("mutate_error", "ID_EXISTS_IN_MULTIPLE_MUTATES") in error_codes(reused.value.failure)


def test_accounts_and_relative_date_ranges(emulators, google_ads_client, customer_id):
    accessible = google_ads_client.get_service("CustomerService").list_accessible_customers()
    assert sorted(accessible.resource_names) == [f"customers/{c}" for c in sorted(emulators.customer_ids)]
    account = search(
        google_ads_client, customer_id, "SELECT customer.id, customer.currency_code FROM customer"
    )
    assert (account[0].customer.id, account[0].customer.currency_code) == (int(customer_id), "EUR")

    google_ads_client.get_service("GoogleAdsService").mutate(
        customer_id=customer_id,
        mutate_operations=campaign_tree(google_ads_client, customer_id, "GB uk", geo_target_ids=(2826,)),
    )
    emulators.clock.set(dt.datetime(2022, 4, 10, 15, tzinfo=dt.UTC))
    rows = search(
        google_ads_client,
        customer_id,
        "SELECT segments.date, metrics.clicks FROM customer "
        "WHERE segments.date DURING LAST_7_DAYS ORDER BY segments.date",
    )
    assert [r.segments.date for r in rows] == [f"2022-04-0{day}" for day in range(3, 10)]
    page = google_ads_client.get_service("GoogleAdsService").search(
        request={
            "customer_id": customer_id,
            "query": "SELECT campaign.name FROM campaign",
            "search_settings": {"return_total_results_count": True},
        }
    )
    assert page._response.total_results_count == 1


def test_geo_target_and_language_constants_can_be_looked_up(google_ads_client, customer_id):
    countries = search(
        google_ads_client,
        customer_id,
        "SELECT geo_target_constant.id, geo_target_constant.name, geo_target_constant.country_code "
        "FROM geo_target_constant WHERE geo_target_constant.country_code IN ('PL', 'UA', 'GB') "
        "ORDER BY geo_target_constant.id",
    )
    assert [(r.geo_target_constant.id, r.geo_target_constant.name) for r in countries] == [
        (2616, "Poland"),
        (2804, "Ukraine"),
        (2826, "United Kingdom"),
    ]
    languages = search(
        google_ads_client,
        customer_id,
        "SELECT language_constant.id, language_constant.name FROM language_constant "
        "WHERE language_constant.code = 'uk'",
    )
    assert [(r.language_constant.id, r.language_constant.name) for r in languages] == [(1036, "Ukrainian")]


def test_ad_texts_change_through_ad_service(google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    service.mutate(
        customer_id=customer_id, mutate_operations=campaign_tree(google_ads_client, customer_id, "IT uk")
    )
    ads = search(google_ads_client, customer_id, "SELECT ad_group_ad.ad.resource_name FROM ad_group_ad")
    ad_name = ads[0].ad_group_ad.ad.resource_name

    update = google_ads_client.get_type("AdOperation")
    update.update.resource_name = ad_name
    for text in ("Nowa praca za granicą?", "Sprawdź ofertę", "Bezpłatna infolinia", "Zadzwoń do La Strady"):
        asset = google_ads_client.get_type("AdTextAsset")
        asset.text = text
        update.update.responsive_search_ad.headlines.append(asset)
    update.update_mask.paths.append("responsive_search_ad.headlines")
    google_ads_client.get_service("AdService").mutate_ads(customer_id=customer_id, operations=[update])

    rows = search(
        google_ads_client,
        customer_id,
        "SELECT ad_group_ad.ad.responsive_search_ad.headlines, "
        "ad_group_ad.ad.responsive_search_ad.descriptions FROM ad_group_ad",
    )
    rsa = rows[0].ad_group_ad.ad.responsive_search_ad
    assert rsa.headlines[0].text == "Nowa praca za granicą?" and len(rsa.headlines) == 4
    assert len(rsa.descriptions) == 2  # outside the mask: unchanged

    too_long = google_ads_client.get_type("AdOperation")
    too_long.update.resource_name = ad_name
    too_long.update.responsive_search_ad.path1 = "a-path-longer-than-fifteen"
    too_long.update_mask.paths.append("responsive_search_ad.path1")
    with pytest.raises(GoogleAdsException) as raised:
        google_ads_client.get_service("AdService").mutate_ads(customer_id=customer_id, operations=[too_long])
    assert error_codes(raised.value.failure) == [("string_length_error", "TOO_LONG")]


def test_keywords_and_negative_keywords(google_ads_client, customer_id):
    service = google_ads_client.get_service("GoogleAdsService")
    tree = campaign_tree(google_ads_client, customer_id, "PL pl")
    match = google_ads_client.enums.KeywordMatchTypeEnum
    extra = []
    for text, match_type in (("praca za granicą", match.PHRASE), ("praca w niemczech", match.BROAD)):
        op, keyword = operation(google_ads_client, "ad_group_criterion_operation")
        keyword.ad_group = f"customers/{customer_id}/adGroups/-3"
        keyword.keyword.text = text
        keyword.keyword.match_type = match_type
        extra.append(op)
    op, negative = operation(google_ads_client, "campaign_criterion_operation")
    negative.campaign = f"customers/{customer_id}/campaigns/-2"
    negative.negative = True
    negative.keyword.text = "darmowe gry"
    negative.keyword.match_type = match.BROAD
    service.mutate(customer_id=customer_id, mutate_operations=[*tree, *extra, op])

    rows = search(
        google_ads_client,
        customer_id,
        "SELECT ad_group_criterion.keyword.text, ad_group_criterion.keyword.match_type, ad_group.name "
        "FROM ad_group_criterion WHERE ad_group_criterion.type = KEYWORD "
        "ORDER BY ad_group_criterion.keyword.text",
    )
    assert [
        (r.ad_group_criterion.keyword.text, r.ad_group_criterion.keyword.match_type.name) for r in rows
    ] == [
        ("praca w niemczech", "BROAD"),
        ("praca za granicą", "PHRASE"),
    ]
    negatives = search(
        google_ads_client,
        customer_id,
        "SELECT campaign_criterion.keyword.text FROM campaign_criterion "
        "WHERE campaign_criterion.negative = TRUE",
    )
    assert [r.campaign_criterion.keyword.text for r in negatives] == ["darmowe gry"]

    group = rows[0].ad_group.resource_name
    bad = []
    for text in (
        "praca za granicą",
        "x" * 81,
        "one two three four five six seven eight nine ten eleven",
        "50% off",
    ):
        keyword_operation = google_ads_client.get_type("AdGroupCriterionOperation")
        keyword_operation.create.ad_group = group
        keyword_operation.create.keyword.text = text
        keyword_operation.create.keyword.match_type = match.PHRASE
        bad.append(keyword_operation)
    response = google_ads_client.get_service("AdGroupCriterionService").mutate_ad_group_criteria(
        request={"customer_id": customer_id, "operations": bad, "partial_failure": True}
    )
    failure = type(google_ads_client.get_type("GoogleAdsFailure")).deserialize(
        response.partial_failure_error.details[0].value
    )
    assert error_codes(failure) == [
        ("mutate_error", "RESOURCE_ALREADY_EXISTS"),
        ("criterion_error", "KEYWORD_TEXT_TOO_LONG"),
        ("criterion_error", "KEYWORD_HAS_TOO_MANY_WORDS"),
        ("criterion_error", "KEYWORD_HAS_INVALID_CHARS"),
    ]
