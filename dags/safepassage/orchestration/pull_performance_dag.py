"""Airflow glue for `pull_performance`: which accounts, which window, one pull per mapped task."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Param


def range_params() -> dict[str, Param]:
    def day(title: str, description: str) -> Param:
        return Param(None, type=["null", "string"], format="date", title=title, description=description)

    return {
        "from": day(
            "Backfill from (YYYY-MM-DD)", "With `to`: pull this whole range in one run (e.g. 2022-03-25)."
        ),
        "to": day(
            "Backfill to (YYYY-MM-DD)", "Last day of the backfill (e.g. 2022-10-31); empty: the run's day."
        ),
    }


def interval_end(context: Any) -> dt.date:
    """The last whole day of the run's data interval (a manual run: the day before it ran)."""
    end = context.get("data_interval_end") or context["dag_run"].run_after
    return (end - dt.timedelta(days=1)).date() if hasattr(end, "date") else end


def requested_range(context: Any) -> tuple[dt.date | None, dt.date | None]:
    params = context["params"]
    since, until = params.get("from"), params.get("to")
    return (
        dt.date.fromisoformat(since) if since else None,
        dt.date.fromisoformat(until) if until else None,
    )


def google_accounts() -> list[dict[str, str]]:
    from safepassage.orchestration.push_accounts import google_account_settings
    from safepassage.services.push_settings import load_push_settings

    return [
        {"account": str(a.customer_id), "currency": a.currency}
        for a in google_account_settings(load_push_settings())
    ]


def meta_accounts() -> list[dict[str, str]]:
    from safepassage.orchestration.connections import meta_settings

    return [{"account": account, "currency": ""} for account in meta_settings().ad_account_ids]


def pull(platform: str, account: dict[str, str], context: Any) -> dict[str, Any]:
    """Pull one account over this run's window into the warehouse; returns what was loaded."""
    from safepassage.adapters.platform_clients import google_ads_client, meta_api
    from safepassage.orchestration.connections import google_ads_settings, meta_settings, open_warehouse
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.performance import (
        load_performance_settings,
        pull_google_ads,
        pull_meta,
        window_for,
    )

    config, performance = load_campaign_config(), load_performance_settings()
    since, until = requested_range(context)
    window = window_for(platform, interval_end(context), performance, since=since, until=until)
    warehouse = open_warehouse()  # the safepassage_warehouse Connection, as every other task
    warehouse.migrate()
    try:
        if platform == "google_ads":
            client = google_ads_client(google_ads_settings())
            result = pull_google_ads(
                warehouse,
                client,
                account["account"],
                config,
                performance,
                window,
                currency=account.get("currency") or "EUR",
            )
        else:
            result = pull_meta(
                warehouse, meta_api(meta_settings()), account["account"], config, performance, window
            )
    finally:
        warehouse.dispose()
    print(f"{platform} {account['account']} {window}: {result.as_dict()}")
    return result.as_dict()
