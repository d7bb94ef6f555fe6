"""Platform accounts to push to, as SDK-backed adapters built from the Airflow Connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safepassage.domain.budgets import BudgetGuard
from safepassage.domain.campaign import CampaignConfig, Platform
from safepassage.domain.push_settings import PlatformAccount, PushSettings

if TYPE_CHECKING:
    from safepassage.adapters.google_ads import GoogleAdsAccount
    from safepassage.adapters.meta_kill_switch import MetaAdAccount
    from safepassage.adapters.meta_push import MetaPushAccount
    from safepassage.domain.geo import Geography
    from safepassage.domain.pauses import PauseGuard
    from safepassage.services.ports import Warehouse


def budget_guard(config: CampaignConfig) -> BudgetGuard:
    """The last line of defence, from config/budget.yaml only."""
    from safepassage.domain.budgets import to_minor

    currency = config.budget.currency
    return BudgetGuard.from_caps(
        {c.code: to_minor(config.budget.country_cap(c.code), currency) for c in config.countries},
        to_minor(config.budget.global_daily_cap, currency),
        currency,
    )


def google_account_settings(push: PushSettings) -> list[PlatformAccount]:
    from safepassage.orchestration.connections import google_ads_settings

    return push.resolve_customer_ids(Platform.GOOGLE_ADS, google_ads_settings().customer_ids)


def pause_guard(warehouse: Warehouse | None) -> PauseGuard:
    """The kill switch's last word, reading the pauses active in the warehouse at each request.
    Fails safe: when the pauses cannot be read, nothing may be switched on (pausing still works)."""
    from safepassage.domain.pauses import PauseGuard
    from safepassage.services.kill_switch import active_pauses

    def unreadable() -> dict[str, str]:
        raise RuntimeError("the warehouse is not available, so the kill switch's pauses cannot be read")

    return PauseGuard(unreadable if warehouse is None else lambda: active_pauses(warehouse))


def google_account(customer_id: str, config: CampaignConfig, warehouse: Warehouse | None) -> GoogleAdsAccount:
    """An account whose every mutate is checked against the caps and the pauses active at that moment."""
    from safepassage.adapters.google_ads import GoogleAdsAccount
    from safepassage.adapters.platform_clients import google_ads_client
    from safepassage.orchestration.connections import google_ads_settings

    return GoogleAdsAccount(
        google_ads_client(google_ads_settings()), customer_id, budget_guard(config), pause_guard(warehouse)
    )


def meta_account_settings(push: PushSettings) -> list[PlatformAccount]:
    from safepassage.orchestration.connections import meta_settings

    return push.resolve_customer_ids(Platform.META, meta_settings().ad_account_ids)


def account_settings(push: PushSettings) -> list[PlatformAccount]:
    """Every account pushed to, Google Ads and Meta; a platform with no account in push.yaml is skipped
    (and gets no budget: see services.budgets)."""
    found = google_account_settings(push) if push.accounts_for(Platform.GOOGLE_ADS) else []
    return found + (meta_account_settings(push) if push.accounts_for(Platform.META) else [])


def meta_push_account(
    account_id: str, config: CampaignConfig, warehouse: Warehouse | None
) -> MetaPushAccount:
    """A Meta account whose every batch is checked against the caps and the pauses active at that moment."""
    from safepassage import settings
    from safepassage.adapters.meta_push import MetaPushAccount
    from safepassage.adapters.platform_clients import meta_api
    from safepassage.orchestration.connections import meta_settings

    return MetaPushAccount(
        meta_api(meta_settings()),
        account_id,
        budget_guard(config),
        settings.creatives_dir(),
        extra_guards=(pause_guard(warehouse).check,),
    )


def meta_accounts(geography: Geography | None = None) -> list[MetaAdAccount]:
    """Every Meta ad account the Connection (or the sandbox) lists."""
    from safepassage.adapters.meta_kill_switch import MetaAdAccount
    from safepassage.adapters.platform_clients import meta_api
    from safepassage.orchestration.connections import meta_settings

    settings = meta_settings()
    api = meta_api(settings)
    return [MetaAdAccount(api, account_id, geography) for account_id in settings.ad_account_ids]


def plan_for(platform: str, account_id: str, run_id: str) -> dict[str, object]:
    """Plan one account of either platform and store the plan; what the review and apply tasks need."""
    from safepassage.orchestration.connections import open_warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.push import plan_and_store
    from safepassage.services.push_google import desired_for_google_account
    from safepassage.services.push_meta import budget_rule, desired_for_meta_account
    from safepassage.services.push_settings import load_push_settings

    config, push = load_campaign_config(), load_push_settings()
    settings = next(
        a for a in account_settings(push) if a.platform.value == platform and a.customer_id == account_id
    )
    thresholds = push.approval_thresholds(config.budget.currency)
    warehouse = open_warehouse()
    warehouse.migrate()
    try:
        if platform == Platform.META.value:
            desired, left_out = desired_for_meta_account(warehouse, config, settings)
            adjust = budget_rule(warehouse, account_id, left_out)
            stored = plan_and_store(
                warehouse,
                meta_push_account(account_id, config, warehouse),
                desired,
                thresholds,
                run_id,
                adjust,
            )
        else:
            desired = desired_for_google_account(warehouse, config, settings.serves)
            stored = plan_and_store(
                warehouse, google_account(account_id, config, warehouse), desired, thresholds, run_id
            )
    finally:
        warehouse.dispose()
    return {**stored.as_dict(), "platform": platform}


def apply_for(plan: dict[str, object]) -> str:
    """Apply one stored plan to its account; a one-line outcome for the task log. A long wait the
    platform asks for raises `RetryLater` (the DAG turns it into a reschedule)."""
    from safepassage.orchestration.connections import open_warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.push import apply_stored_plan

    config = load_campaign_config()
    account_id = str(plan["customer_id"])
    warehouse = open_warehouse()
    try:
        account: GoogleAdsAccount | MetaPushAccount = (
            meta_push_account(account_id, config, warehouse)
            if plan.get("platform") == Platform.META.value
            else google_account(account_id, config, warehouse)
        )
        report = apply_stored_plan(warehouse, account, int(str(plan["plan_id"])))
    finally:
        warehouse.dispose()
    return "nothing to do" if report is None else str(report.as_dict())


def review_for(plans: list[dict[str, object]]) -> dict[str, str]:
    """The review of this run's plans: subject (account, plan, daily amount), body (per-country
    summary first) and who may decide, as the review task shows it."""
    from safepassage.orchestration.connections import open_warehouse
    from safepassage.services.push_review import review_request
    from safepassage.services.push_settings import load_push_settings

    push = load_push_settings()
    accounts = {str(a.customer_id): (a.name, a.currency) for a in account_settings(push)}
    warehouse = open_warehouse()
    try:
        return review_request(warehouse, plans, accounts, push.review.approvers)
    finally:
        warehouse.dispose()
