"""Platform accounts to push to, as SDK-backed adapters built from the Airflow Connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safepassage.domain.budgets import BudgetGuard
from safepassage.domain.campaign import CampaignConfig, Platform
from safepassage.domain.push_settings import PlatformAccount, PushSettings

if TYPE_CHECKING:
    from safepassage.adapters.google_ads import GoogleAdsAccount
    from safepassage.adapters.meta_ads import MetaAdAccount
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.domain.geo import Geography
    from safepassage.domain.pauses import PauseGuard


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


def meta_accounts(geography: Geography | None = None) -> list[MetaAdAccount]:
    """Every Meta ad account the Connection (or the sandbox) lists."""
    from safepassage.adapters.meta_ads import MetaAdAccount
    from safepassage.adapters.platform_clients import meta_api
    from safepassage.orchestration.connections import meta_settings

    settings = meta_settings()
    api = meta_api(settings)
    return [MetaAdAccount(api, account_id, geography) for account_id in settings.ad_account_ids]
