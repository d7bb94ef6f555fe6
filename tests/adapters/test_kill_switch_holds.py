"""The kill switch holds: a plan approved before a pause cannot switch anything on in the paused
country; every geo form that reaches the country counts (pins with or without a country, country
groups, campaigns SafePassage does not manage); a fresh installation pauses at once; and a pause
that fails anywhere fails the command and the DAG run, naming the platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ad_emulators.faults import FaultPlan
from safepassage.adapters.google_ads import GoogleAdsAccount
from safepassage.adapters.meta_kill_switch import MetaAdAccount, targeted_countries
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.cli import main
from safepassage.domain.approval import ApprovalThresholds
from safepassage.domain.budgets import BudgetGuard
from safepassage.domain.geo import Geography
from safepassage.domain.pauses import CountryPaused
from safepassage.domain.push_google import desired_tree
from safepassage.orchestration.push_accounts import pause_guard
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.kill_switch import PauseFailed, active_pauses, pause_country
from safepassage.services.push import (
    MemoryApplyLog,
    apply_plan,
    apply_stored_plan,
    plan_account,
    plan_and_store,
    record_decision,
)
from tests.adapters.test_kill_switch import meta_ad_set, meta_statuses
from tests.push_support import budgets, creatives, targeting

CONFIG = load_campaign_config()
GEOGRAPHY = Geography.of(CONFIG.countries)
THRESHOLDS = ApprovalThresholds(daily_spend_threshold_micros=10**12)
CAPS = BudgetGuard({c.code: 300_000_000 for c in CONFIG.countries}, 1_500_000_000)


def desired(paused: dict[str, str] | None = None) -> Any:
    return desired_tree(targeting(CONFIG), creatives(CONFIG), budgets(CONFIG), paused or {})


def campaign_statuses(account: GoogleAdsAccount, country: str) -> set[str]:
    return {n.fields["status"] for n in account.read_tree().of_kind("campaign") if n.country == country}


def test_a_plan_approved_before_a_pause_creates_nothing_in_the_paused_country(
    warehouse: Warehouse, emulators: Any, google_ads_client: Any
) -> None:
    account = GoogleAdsAccount(google_ads_client, emulators.customer_ids[0], CAPS, pause_guard(warehouse))
    stored = plan_and_store(warehouse, account, desired(), THRESHOLDS, "run-before-the-pause")
    assert stored.status == "needs_approval" and "create campaign" in stored.markdown.lower()
    record_decision(warehouse, "run-before-the-pause", True, "reviewer", "looks right")

    pause_country(warehouse, "PL", "Fake job ads quoting our helpline", "anna", [account])
    emulators.google.log.clear()
    with pytest.raises(CountryPaused, match="PL paused by the kill switch since this plan was made"):
        apply_stored_plan(warehouse, account, stored.plan_id, sleep=lambda _s: None)

    assert [n for n in account.read_tree().nodes.values() if n.country == "PL"] == []
    sent = [e for e in emulators.google.log.entries(target_contains="GoogleAdsService/Mutate")]
    assert sent == [], "refused before sending: not even a validate_only request left"
    with warehouse.session() as session:
        plan = session.get(m.PushPlan, stored.plan_id)
        assert plan is not None and plan.status == "failed" and "kill switch" in plan.summary["outcome"]
        (refusal,) = session.scalars(
            select(m.ApplyLogEntry).where(m.ApplyLogEntry.outcome == "refused")
        ).all()
        assert "PL" in refusal.detail["error"]

    # The next plan keeps PL paused, so it applies: PL is created PAUSED, the rest serves.
    after = desired(active_pauses(warehouse))
    apply_plan(account, after, plan_account(account, after), MemoryApplyLog())
    assert campaign_statuses(account, "PL") == {"PAUSED"}
    assert campaign_statuses(account, "DE") == {"ENABLED"}


def test_a_plan_cannot_re_enable_a_country_paused_after_it_was_approved(
    warehouse: Warehouse, emulators: Any, google_ads_client: Any
) -> None:
    account = GoogleAdsAccount(google_ads_client, emulators.customer_ids[0], CAPS, pause_guard(warehouse))
    pause_country(warehouse, "RO", "Partner organisation asked us to stop", "anna", [account])
    first = desired(active_pauses(warehouse))
    apply_plan(account, first, plan_account(account, first), MemoryApplyLog())
    assert campaign_statuses(account, "RO") == {"PAUSED"}
    # A resume and a plan that re-enables RO, approved; then RO is paused again before it applies.
    from safepassage.services.kill_switch import resume_country

    resume_country(warehouse, "RO", "ben")
    stored = plan_and_store(warehouse, account, desired(), THRESHOLDS, "run-resume")
    record_decision(warehouse, "run-resume", True, "reviewer", "serve RO again")
    pause_country(warehouse, "RO", "Scam wave again, stop at once", "anna", [account])
    with pytest.raises(CountryPaused, match="RO paused by the kill switch"):
        apply_stored_plan(warehouse, account, stored.plan_id, sleep=lambda _s: None)
    assert campaign_statuses(account, "RO") == {"PAUSED"}


def test_an_ad_set_reaching_the_country_only_through_a_hotspot_pin_is_paused(
    warehouse: Warehouse, emulators: Any, meta_api: Any
) -> None:
    account_id = emulators.ad_account_ids[0]
    pin = {"latitude": 49.8036, "longitude": 22.9428, "radius": 10, "distance_unit": "kilometer"}
    meta_ad_set(account_id, "Medyka pin, no country key", {"custom_locations": [pin]})
    warsaw = {"latitude": 52.2297, "longitude": 21.0122, "radius": 5, "distance_unit": "kilometer"}
    meta_ad_set(account_id, "Warsaw pin, no country key", {"custom_locations": [warsaw]})
    meta_ad_set(account_id, "EU group", {"country_groups": ["eu"]})
    madrid = {"latitude": 40.4168, "longitude": -3.7038, "radius": 10, "distance_unit": "kilometer"}
    meta_ad_set(account_id, "Madrid pin", {"custom_locations": [madrid]})
    meta_ad_set(account_id, "Moldova only", {"countries": ["MD"]})

    result = pause_country(
        warehouse, "PL", "Fake job ads quoting our helpline", "anna",
        meta_accounts=[MetaAdAccount(meta_api, account_id, GEOGRAPHY)],
    )  # fmt: skip

    assert meta_statuses(account_id) == {
        "Medyka pin, no country key": "PAUSED",
        "Warsaw pin, no country key": "PAUSED",
        "EU group": "PAUSED",
        "Madrid pin": "ACTIVE",
        "Moldova only": "ACTIVE",
    }
    outcome = result.platforms[f"meta {account_id}"]
    assert outcome.startswith("3 ad set(s) paused") and "Medyka pin, no country key (PL, UA)" in outcome


def test_every_meta_geo_form_counts() -> None:
    def reached(geo: dict[str, Any]) -> set[str]:
        return targeted_countries({"geo_locations": geo}, GEOGRAPHY)

    assert reached({"countries": ["pl"]}) == {"PL"}
    assert reached({"regions": [{"key": "3847", "country": "UA"}]}) == {"UA"}
    assert reached({"cities": [{"key": "2430536", "country": "DE", "radius": 20}]}) == {"DE"}
    assert reached({"zips": [{"key": "PL:00-001"}]}) == {"PL"}
    assert reached({"regions": [{"key": "3847"}]}) == {"*"}, "a place naming no country reaches everywhere"
    assert reached({"country_groups": ["eu"]}) >= {"PL", "DE", "RO"} and "UA" not in reached(
        {"country_groups": ["eu"]}
    )
    assert reached({"country_groups": ["worldwide"]}) == {"*"}
    assert reached({"country_groups": ["south_america"]}) == set()
    pin = {"latitude": 47.9, "longitude": 22.3, "radius": 30, "distance_unit": "kilometer"}
    assert {"HU", "RO", "UA"} <= reached({"custom_locations": [pin]}), "a border pin reaches both sides"
    assert reached({"custom_locations": [{"address_string": "somewhere", "radius": 5}]}) == {"*"}
    assert targeted_countries({"geo_locations": {"custom_locations": [pin]}}) == {"*"}, "no geography"


def test_campaigns_safepassage_does_not_manage_are_paused_by_the_same_rule(
    warehouse: Warehouse, emulators: Any, google_ads_client: Any
) -> None:
    from google.ads.googleads.v26.enums.types import advertising_channel_type, budget_delivery_method

    account = GoogleAdsAccount(google_ads_client, emulators.customer_ids[0], CAPS, pause_guard(warehouse))
    tree = desired()
    apply_plan(account, tree, plan_account(account, tree), MemoryApplyLog())
    service = google_ads_client.get_service("GoogleAdsService")
    customer = emulators.customer_ids[0]

    def campaign(name: str, criteria: list[dict[str, Any]]) -> None:
        from google.ads.googleads.v26.services.types.google_ads_service import MutateOperation

        ops = []
        budget = MutateOperation()
        budget.campaign_budget_operation.create.resource_name = f"customers/{customer}/campaignBudgets/-1"
        budget.campaign_budget_operation.create.name = f"{name} budget"
        budget.campaign_budget_operation.create.amount_micros = 10_000_000
        budget.campaign_budget_operation.create.delivery_method = (
            budget_delivery_method.BudgetDeliveryMethodEnum.BudgetDeliveryMethod.STANDARD
        )
        ops.append(budget)
        created = MutateOperation()
        target = created.campaign_operation.create
        target.resource_name = f"customers/{customer}/campaigns/-2"
        target.name = name
        target.campaign_budget = f"customers/{customer}/campaignBudgets/-1"
        target.advertising_channel_type = (
            advertising_channel_type.AdvertisingChannelTypeEnum.AdvertisingChannelType.SEARCH
        )
        target.target_spend._pb.SetInParent()
        target.status = google_ads_client.enums.CampaignStatusEnum.ENABLED
        target.contains_eu_political_advertising = (
            google_ads_client.enums.EuPoliticalAdvertisingStatusEnum.DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING
        )
        ops.append(created)
        for criterion in criteria:
            op = MutateOperation()
            new = op.campaign_criterion_operation.create
            new.campaign = f"customers/{customer}/campaigns/-2"
            if "geo" in criterion:
                new.location.geo_target_constant = f"geoTargetConstants/{criterion['geo']}"
            else:
                new.proximity.geo_point.latitude_in_micro_degrees = round(criterion["lat"] * 1e6)
                new.proximity.geo_point.longitude_in_micro_degrees = round(criterion["lon"] * 1e6)
                new.proximity.radius = criterion["km"]
                new.proximity.radius_units = google_ads_client.enums.ProximityRadiusUnitsEnum.KILOMETERS
            ops.append(op)
        service.mutate(customer_id=customer, mutate_operations=ops)

    campaign("Partner campaign near Przemysl", [{"lat": 49.78, "lon": 22.77, "km": 15}])
    campaign("Partner campaign Germany", [{"geo": 2276}])

    result = pause_country(
        warehouse, "PL", "Fake job ads quoting our helpline", "anna", [account], geography=GEOGRAPHY
    )
    outcome = result.platforms[f"google_ads {account.customer_id}"]
    assert outcome.startswith("4 campaign(s) paused; not managed by SafePassage, paused too")
    assert "Partner campaign near Przemysl (PL, UA)" in outcome and "Germany" not in outcome
    rows = service.search(
        customer_id=customer,
        query="SELECT campaign.name, campaign.status FROM campaign WHERE campaign.name LIKE 'Partner%'",
    )
    assert {row.campaign.name: row.campaign.status.name for row in rows} == {
        "Partner campaign near Przemysl": "PAUSED",
        "Partner campaign Germany": "ENABLED",
    }


def test_a_fresh_installation_pauses_on_every_platform(
    emulators_descriptor_env: Path,
    emulators: Any,
    google_ads_client: Any,
    meta_api: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The platforms already serve (pushed earlier from elsewhere); this warehouse has never been
    # migrated nor had its reference data synced.
    account = GoogleAdsAccount(google_ads_client, emulators.customer_ids[0], CAPS)
    tree = desired()
    apply_plan(account, tree, plan_account(account, tree), MemoryApplyLog())
    account_id = emulators.ad_account_ids[0]
    meta_ad_set(account_id, "LT only", {"countries": ["LT"]})
    url = f"sqlite:///{tmp_path / 'fresh' / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)

    assert main(["pause", "--country", "LT", "--reason", "Police advice: scam wave"]) == 0, (
        capsys.readouterr()
    )

    assert campaign_statuses(account, "LT") == {"PAUSED"}
    assert meta_statuses(account_id) == {"LT only": "PAUSED"}
    store = Warehouse(url)
    try:
        assert list(active_pauses(store)) == ["LT"]
    finally:
        store.dispose()


def test_a_meta_pause_that_fails_fails_the_command_naming_meta(
    emulators_descriptor_env: Path,
    warehouse: Warehouse,
    emulators: Any,
    google_ads_client: Any,
    meta_api: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", warehouse.url)
    account = GoogleAdsAccount(google_ads_client, emulators.customer_ids[0], CAPS)
    tree = desired()
    apply_plan(account, tree, plan_account(account, tree), MemoryApplyLog())
    account_id = emulators.ad_account_ids[0]
    meta_ad_set(account_id, "PL only", {"countries": ["PL"]})
    emulators.faults = FaultPlan.from_dict(
        {"faults": [{"platform": "meta", "match": "GET /act_*/adsets", "kind": "server_error", "rate": 1.0}]}
    )

    assert main(["pause", "--country", "PL", "--reason", "Fake job ads quoting our helpline"]) == 1
    err = capsys.readouterr().err
    assert "PL NOT fully paused" in err and f"meta {account_id}: FAILED" in err
    assert campaign_statuses(account, "PL") == {"PAUSED"}, "Google is still paused"
    emulators.faults = FaultPlan.from_dict({"faults": []})
    assert meta_statuses(account_id) == {"PL only": "ACTIVE"}
    with warehouse.session() as session:
        pause = session.scalars(select(m.CountryPause)).one()
        assert pause.platform_results[f"meta {account_id}"].startswith("FAILED")
    assert list(active_pauses(warehouse)) == ["PL"], "recorded: later pushes keep it paused"


def test_a_pause_that_fails_raises_after_trying_every_platform(warehouse: Warehouse) -> None:
    class Broken:
        account_id = "act_1"

        def pause_country(self, country: str) -> list[Any]:
            raise RuntimeError("GET https://graph.facebook.com/v26.0/act_1/adsets?access_token=EAAB-secret")

    with pytest.raises(PauseFailed) as failure:
        pause_country(warehouse, "PL", "a good reason here", "anna", meta_accounts=[Broken()],
                      platform_problems={"google_ads": "no usable Google Ads connection"})  # fmt: skip
    assert failure.value.failures == ["google_ads", "meta act_1"]
    assert "EAAB-secret" not in str(failure.value) and "access_token=***" in str(failure.value)


def test_a_pause_the_warehouse_cannot_record_still_pauses_every_platform_and_fails(
    emulators_descriptor_env: Path,
    emulators: Any,
    google_ads_client: Any,
    meta_api: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    account = GoogleAdsAccount(google_ads_client, emulators.customer_ids[0], CAPS)
    tree = desired()
    apply_plan(account, tree, plan_account(account, tree), MemoryApplyLog())
    account_id = emulators.ad_account_ids[0]
    meta_ad_set(account_id, "EE only", {"countries": ["EE"]})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{port}/gone")

    assert main(["pause", "--country", "EE", "--reason", "Police advice: scam wave"]) == 1
    err = capsys.readouterr().err
    assert "EE NOT fully paused" in err and "warehouse (country_pause)" in err
    assert campaign_statuses(account, "EE") == {"PAUSED"}
    assert meta_statuses(account_id) == {"EE only": "PAUSED"}
