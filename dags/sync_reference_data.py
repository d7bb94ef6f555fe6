"""
### Sync reference data

Copies the campaign configuration in `config/` (19 countries, 9 languages, support
organisations, budget caps, platform policy) into the warehouse's reference dimensions, after
validating it. A broken config file fails the first task with the file, line and field to fix,
and nothing is written.

**Runs:** daily at 04:00 UTC, and whenever someone triggers it after editing `config/`.
**Produces:** the `reference_data` asset.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from safepassage.orchestration.assets import REFERENCE_DATA
from safepassage.orchestration.defaults import DEFAULT_ARGS, daily_at


@dag(
    schedule=daily_at("0 4 * * *"),
    catchup=False,  # reference data is a snapshot of config/, not a time series
    tags=["safepassage", "reference-data"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def sync_reference_data() -> None:
    @task(outlets=[REFERENCE_DATA])
    def validate_and_sync() -> str:
        from safepassage.orchestration.connections import open_warehouse
        from safepassage.services.campaign_config import load_campaign_config
        from safepassage.services.reference_data import sync_reference_data as sync

        config = load_campaign_config()
        warehouse = open_warehouse()
        warehouse.migrate()
        counts = sync(config, warehouse)
        print(f"Synced {counts} into {warehouse.safe_url}")
        return str(counts)

    validate_and_sync()


sync_reference_data()
