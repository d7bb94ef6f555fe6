"""The kill switch wired to the real warehouse and platform accounts (CLI and the kill_switch DAG)."""

from __future__ import annotations


def run_pause(country: str, reason: str, by: str) -> str:
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.orchestration.push_accounts import google_account, google_account_settings, meta_accounts
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.kill_switch import pause_country
    from safepassage.services.push_settings import load_push_settings

    config = load_campaign_config()
    push = load_push_settings()
    accounts = [
        google_account(str(a.customer_id), config)
        for a in google_account_settings(push)
        if a.serves(country.upper())
    ]
    try:
        metas = meta_accounts()
    except Exception as error:  # no Meta connection is a fact to record, not a reason to not pause Google
        metas, meta_problem = [], f"not paused: no usable Meta connection ({error})"
    else:
        meta_problem = "" if metas else "no Meta ad account configured"
    warehouse = Warehouse()
    warehouse.migrate()
    try:
        result = pause_country(
            warehouse,
            country,
            reason,
            by,
            accounts,
            metas,
            known_countries=[c.code for c in config.countries],
            meta_problem=meta_problem,
        )
    finally:
        warehouse.dispose()
    return result.summary()


def run_resume(country: str, by: str) -> str:
    from safepassage.adapters.warehouse import Warehouse
    from safepassage.services.kill_switch import resume_country

    warehouse = Warehouse()
    warehouse.migrate()
    try:
        closed = resume_country(warehouse, country, by)
    finally:
        warehouse.dispose()
    if not closed:
        return f"{country.upper()} was not paused; nothing to do."
    return (
        f"{country.upper()} resumed by {by}. It serves again with the next push_campaigns run "
        "(trigger it in Airflow to resume now)."
    )
