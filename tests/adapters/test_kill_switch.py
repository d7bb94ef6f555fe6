"""The kill switch: one country paused on the platform at once, recorded with who and why, kept
paused by later plans, and lifted only through the next plan."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from safepassage.adapters.google_ads import GoogleAdsAccount
from safepassage.adapters.meta_kill_switch import MetaAdAccount, targeted_countries
from safepassage.adapters.warehouse import Warehouse
from safepassage.adapters.warehouse import models as m
from safepassage.cli import main
from safepassage.domain.approval import ApprovalThresholds, approval_reasons
from safepassage.domain.budgets import BudgetGuard
from safepassage.domain.push_google import desired_tree
from safepassage.services.campaign_config import load_campaign_config
from safepassage.services.kill_switch import PauseFailed, active_pauses, pause_country, resume_country
from safepassage.services.push import MemoryApplyLog, apply_plan, plan_account
from tests.push_support import budgets, creatives, targeting

CONFIG = load_campaign_config()


def desired(paused: dict[str, str] | None = None) -> Any:
    return desired_tree(targeting(CONFIG), creatives(CONFIG), budgets(CONFIG), paused or {})


@pytest.fixture
def account(emulators: Any, google_ads_client: Any) -> GoogleAdsAccount:
    guard = BudgetGuard({c.code: 300_000_000 for c in CONFIG.countries}, 1_500_000_000)
    live = GoogleAdsAccount(google_ads_client, emulators.customer_ids[0], guard)
    tree = desired()
    apply_plan(live, tree, plan_account(live, tree), MemoryApplyLog())
    return live


def statuses(account: GoogleAdsAccount, country: str) -> set[str]:
    return {n.fields["status"] for n in account.read_tree().of_kind("campaign") if n.country == country}


def test_pause_stops_one_country_at_once_and_plans_keep_it_paused(
    warehouse: Warehouse, account: GoogleAdsAccount
) -> None:
    result = pause_country(warehouse, "pl", "Fake job ads quoting our helpline", "anna", [account])
    assert statuses(account, "PL") == {"PAUSED"}
    assert statuses(account, "DE") == {"ENABLED"}
    assert result.platforms[f"google_ads {account.customer_id}"] == "4 campaign(s) paused"
    assert not any(key.startswith("meta") for key in result.platforms), "no Meta account was given"
    with warehouse.session() as session:
        (row,) = session.scalars(select(m.CountryPause)).all()
        assert (row.country_code, row.paused_by, row.resumed_at) == ("PL", "anna", None)
        assert row.reason == "Fake job ads quoting our helpline"
    paused = active_pauses(warehouse)
    assert list(paused) == ["PL"] and "anna" in paused["PL"]

    assert plan_account(account, desired(paused)).is_empty  # the next push keeps it paused

    assert (
        pause_country(warehouse, "PL", "Pressed twice by a colleague", "ben", [account]).platforms[
            f"google_ads {account.customer_id}"
        ]
        == "0 campaign(s) paused"
    )


def test_resume_clears_the_record_and_the_next_plan_re_enables_with_approval(
    warehouse: Warehouse, account: GoogleAdsAccount
) -> None:
    pause_country(warehouse, "RO", "Partner organisation asked us to stop", "anna", [account])
    assert resume_country(warehouse, "RO", "ben") == 1
    assert resume_country(warehouse, "RO", "ben") == 0
    assert active_pauses(warehouse) == {}
    plan = plan_account(account, desired(active_pauses(warehouse)))
    assert {(op.action, op.kind, op.country) for op in plan.operations} == {("update", "campaign", "RO")}
    thresholds = ApprovalThresholds(daily_spend_threshold_micros=10**12)
    assert [r.rule for r in approval_reasons(plan, thresholds)] == ["new_country"]
    with warehouse.session() as session:
        row = session.scalars(select(m.CountryPause)).one()
        assert row.resumed_by == "ben" and row.resumed_at is not None


def test_bad_requests_are_refused_before_anything_happens(
    warehouse: Warehouse, account: GoogleAdsAccount
) -> None:
    with pytest.raises(ValueError, match="unknown country"):
        pause_country(warehouse, "XX", "a good reason here", "anna", [account], known_countries=["PL"])
    with pytest.raises(ValueError, match="reason"):
        pause_country(warehouse, "PL", " ", "anna", [account])
    assert statuses(account, "PL") == {"ENABLED"}
    assert active_pauses(warehouse) == {}


def test_cli_pause_and_resume(
    emulators_descriptor_env: Path,
    account: GoogleAdsAccount,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("SAFEPASSAGE_WAREHOUSE_URL", url)
    store = Warehouse(url)
    store.migrate()
    from safepassage.services.reference_data import sync_reference_data

    sync_reference_data(CONFIG, store)
    assert main(["pause", "--country", "LT", "--reason", "Police advice: scam wave"]) == 0
    assert "LT paused" in capsys.readouterr().out
    assert statuses(account, "LT") == {"PAUSED"}
    assert active_pauses(store) == {"LT": f"Police advice: scam wave (by {getpass.getuser()})"}
    with pytest.raises(SystemExit):  # who paused is the login, never a free-text field
        main(["pause", "--country", "LT", "--reason", "Police advice: scam wave", "--by", "someone"])
    assert main(["pause", "--country", "ZZ", "--reason", "Police advice: scam wave"]) == 2
    assert "unknown country" in capsys.readouterr().err
    assert main(["resume", "--country", "LT"]) == 0
    assert "next push_campaigns run" in capsys.readouterr().out
    assert active_pauses(store) == {}
    store.dispose()


DSA = {"dsa_beneficiary": "STOP THE TRAFFIK", "dsa_payor": "STOP THE TRAFFIK"}


def meta_ad_set(account_id: str, name: str, geo: dict[str, Any], status: str = "ACTIVE") -> str:
    from facebook_business.adobjects.adaccount import AdAccount

    account = AdAccount(account_id)
    campaign = account.create_campaign(
        params={
            "name": f"SP {name}",
            "objective": "OUTCOME_AWARENESS",
            "special_ad_categories": [],
            "status": "ACTIVE",
        }
    )
    ad_set = account.create_ad_set(
        params={
            "name": name,
            "campaign_id": campaign["id"],
            "daily_budget": 2000,
            "status": status,
            "billing_event": "IMPRESSIONS",
            "optimization_goal": "REACH",
            "targeting": {"geo_locations": geo, "locales": [52], "age_min": 18},
            **DSA,
        }
    )
    return str(ad_set["id"])


def meta_statuses(account_id: str) -> dict[str, str]:
    from facebook_business.adobjects.adaccount import AdAccount

    return {a["name"]: a["status"] for a in AdAccount(account_id).get_ad_sets(fields=["name", "status"])}


def test_pause_reaches_every_meta_ad_set_targeting_the_country(
    warehouse: Warehouse, emulators: Any, meta_api: Any
) -> None:
    account_id = emulators.ad_account_ids[0]
    meta_ad_set(account_id, "PL only", {"countries": ["PL"]})
    meta_ad_set(account_id, "PL and DE", {"countries": ["PL", "DE"]})
    meta_ad_set(
        account_id,
        "Medyka radius",
        {
            "custom_locations": [
                {
                    "latitude": 49.8,
                    "longitude": 22.94,
                    "radius": 10,
                    "distance_unit": "kilometer",
                    "country": "PL",
                }
            ]
        },
    )
    meta_ad_set(account_id, "DE only", {"countries": ["DE"]})
    meta_ad_set(account_id, "PL already paused", {"countries": ["PL"]}, status="PAUSED")

    result = pause_country(
        warehouse,
        "PL",
        "Fake job ads quoting our helpline",
        "anna",
        meta_accounts=[MetaAdAccount(meta_api, account_id)],
    )

    assert meta_statuses(account_id) == {
        "PL only": "PAUSED",
        "PL and DE": "PAUSED",
        "Medyka radius": "PAUSED",
        "DE only": "ACTIVE",
        "PL already paused": "PAUSED",
    }
    outcome = result.platforms[f"meta {account_id}"]
    assert outcome.startswith("3 ad set(s) paused") and "PL and DE (DE, PL)" in outcome
    with warehouse.session() as session:
        assert session.scalars(select(m.CountryPause)).one().platform_results[f"meta {account_id}"] == outcome
    again = pause_country(
        warehouse,
        "PL",
        "Pressed twice by a colleague",
        "ben",
        meta_accounts=[MetaAdAccount(meta_api, account_id)],
    )
    assert again.platforms[f"meta {account_id}"] == "0 ad set(s) paused"


def test_targeted_countries_reads_lists_and_places() -> None:
    assert targeted_countries(None) == set()
    assert targeted_countries(
        {"geo_locations": {"countries": ["pl"], "cities": [{"key": "1", "country": "DE"}]}}
    ) == {"PL", "DE"}


def test_a_retried_pause_keeps_one_record(warehouse: Warehouse, account: GoogleAdsAccount) -> None:
    first = pause_country(warehouse, "MD", "Scam wave reported by partners", "ops-duty", [account])
    retried = pause_country(warehouse, "MD", "Scam wave reported by partners", "ops-duty", [account])
    assert retried.pause_id == first.pause_id
    assert retried.platforms[f"google_ads {account.customer_id}"] == "0 campaign(s) paused"  # already
    with warehouse.session() as session:
        rows = session.scalars(select(m.CountryPause)).all()
    # The record keeps what the first attempt paused: the retry's "0 paused" does not erase it.
    assert [(r.country_code, r.platform_results) for r in rows] == [("MD", first.platforms)]
    other = pause_country(warehouse, "MD", "A second, separate concern", "anna", [account])
    assert other.pause_id != first.pause_id  # a different request is its own record


def test_a_retry_records_what_the_failed_attempt_could_not_pause(
    warehouse: Warehouse, account: GoogleAdsAccount
) -> None:
    def unreachable(*_args: Any, **_kwargs: Any) -> str:
        raise ConnectionError("Google Ads did not answer")

    with pytest.raises(PauseFailed):
        pause_country(
            warehouse, "MD", "Scam wave reported by partners", "ops-duty", [account], pause_google=unreachable
        )
    retried = pause_country(warehouse, "MD", "Scam wave reported by partners", "ops-duty", [account])
    key = f"google_ads {account.customer_id}"
    assert (
        retried.platforms[key].endswith("campaign(s) paused")
        and retried.platforms[key] != "0 campaign(s) paused"
    )
    with warehouse.session() as session:
        (row,) = session.scalars(select(m.CountryPause)).all()
    assert row.platform_results == {key: retried.platforms[key]}  # the failure was replaced, not kept
