"""The kill switch wired to the real warehouse and platform accounts (CLI and the kill_switch DAG).

Every step that could fail before a platform is called (reading a connection, the warehouse, the
reference data) is caught and reported as that step's failure, so it never stops the other platforms
from being paused; `PauseFailed` is raised at the end naming every failure.
"""

from __future__ import annotations

from typing import Any


def run_pause(country: str, reason: str, by: str) -> str:
    from safepassage.adapters.redaction import scrub
    from safepassage.domain.geo import Geography
    from safepassage.orchestration.connections import open_warehouse
    from safepassage.orchestration.push_accounts import google_account, google_account_settings, meta_accounts
    from safepassage.services.campaign_config import load_campaign_config
    from safepassage.services.kill_switch import pause_country
    from safepassage.services.push_settings import load_push_settings
    from safepassage.services.reference_data import sync_reference_data

    config = load_campaign_config()
    known = [c.code for c in config.countries]
    if country.upper() not in known:  # before any connection is read: a typo must not half-run
        raise ValueError(
            f"unknown country {country.upper()!r}; config/countries.yaml lists {', '.join(known)}"
        )
    problems: dict[str, str] = {}
    geography = Geography.of(config.countries)
    try:
        warehouse = open_warehouse()
    except Exception as error:  # the platforms are paused all the same; the record's failure is named
        warehouse, unopened = None, f"{type(error).__name__}: {scrub(error)}"
    google: list[Any] = []
    try:
        # Every account SafePassage manages on Google Ads, whichever countries it serves today.
        google = [
            google_account(str(a.customer_id), config, warehouse)
            for a in google_account_settings(load_push_settings())
        ]
        if not google:
            problems["google_ads"] = "no Google Ads account configured (google_ads_default customer_ids)"
    except Exception as error:  # recorded as this platform's failure; the others are still paused
        problems["google_ads"] = f"no usable Google Ads connection ({type(error).__name__}: {scrub(error)})"
    metas: list[Any] = []
    try:
        metas = meta_accounts(geography)
        if not metas:
            problems["meta"] = "no Meta ad account configured (meta_default account_id)"
    except Exception as error:
        problems["meta"] = f"no usable Meta connection ({type(error).__name__}: {scrub(error)})"

    def prepare_record() -> None:
        if warehouse is None:
            raise RuntimeError(f"cannot open the warehouse ({unopened})")
        warehouse.migrate()
        if not warehouse.push.has_country(country.upper()):
            sync_reference_data(config, warehouse)  # a fresh installation: the pause needs dim_country

    try:
        result = pause_country(
            warehouse,
            country,
            reason,
            by,
            google,
            metas,
            known_countries=known,
            platform_problems=problems,
            prepare_record=prepare_record,
            geography=geography,
        )
    finally:
        if warehouse is not None:
            warehouse.dispose()
    return result.summary()


def triggering_user(dag_run: Any) -> str:
    """Who pressed the switch: the authenticated Airflow user who triggered the run (never a form field)."""
    user = getattr(dag_run, "triggering_user_name", None)
    return str(user) if user else "unknown Airflow user (the run records no triggering user)"


def run_resume(country: str, by: str) -> str:
    from safepassage.orchestration.connections import open_warehouse
    from safepassage.services.kill_switch import resume_country

    warehouse = open_warehouse()
    warehouse.migrate()
    try:
        closed = resume_country(warehouse, country, by)
    finally:
        warehouse.dispose()
    if not closed:
        return f"{country.upper()} was not paused; nothing to do."
    return (
        f"{country.upper()} resumed by {by}. It serves again with the next push_campaigns run "
        "(trigger it in Airflow to resume now). Campaigns and ad sets SafePassage does not manage "
        "stay paused: re-enable them by hand."
    )
