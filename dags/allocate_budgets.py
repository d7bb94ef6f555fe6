"""
### Allocate budgets

Splits the campaign's daily budget (`config/push.yaml`, never above the global cap in
`config/budget.yaml`) across the 19 countries and the two platforms, following the weights of the
targeting in effect (each allocation records which snapshot; the push pairs them again) and,
once performance data exists, the cost per signposting click.

Every country stays within its floor and hard cap, within its monthly ceiling (30.4 × daily cap,
paced over the days left in the month) and moves at most the configured share from the day
before, and from the allocation in effect (several allocations on one day included). Amounts are
whole cents. Each allocation is stored with all its inputs; a re-run with the same inputs stores
nothing new and ends *skipped*, so no push is woken for nothing.

**Runs:** daily at 04:30 UTC, and whenever the targeting changes (param `as_of` replays a past day,
refused on a live deployment unless `replay_on_live` is ticked).
**Produces:** the `budgets` asset (event extra: `allocation_id`, `targeting_snapshot_id`), which
wakes `push_campaigns`.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, dag, task

from safepassage.orchestration.assets import BUDGETS, TARGETING
from safepassage.orchestration.defaults import DEFAULT_ARGS, daily_at
from safepassage.orchestration.run_day import replay_params


@dag(
    schedule=AssetOrTimeSchedule(timetable=daily_at("30 4 * * *"), assets=TARGETING),
    catchup=False,  # an allocation is for today; yesterday's money is already spent
    tags=["safepassage", "budgets"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    params=replay_params("Allocation"),
)
def allocate_budgets() -> None:
    @task(outlets=[BUDGETS])
    def allocate(**context: object) -> dict[str, object]:
        from airflow.sdk.exceptions import AirflowSkipException

        from safepassage.orchestration.connections import open_warehouse
        from safepassage.orchestration.run_day import replay_extra, run_day
        from safepassage.services.budgets import allocate_budgets as allocate_and_store
        from safepassage.services.campaign_config import load_campaign_config
        from safepassage.services.push_settings import load_push_settings

        day = run_day(context)
        warehouse = open_warehouse()
        warehouse.migrate()
        try:
            stored = allocate_and_store(warehouse, load_campaign_config(), load_push_settings(), day)
        finally:
            warehouse.dispose()
        print(f"Allocation {stored.allocation_id} for {day} ({'new' if stored.created else 'unchanged'}):")
        print(stored.table())
        if not stored.created:
            # An allocation already in effect: no event, so no push for nothing.
            raise AirflowSkipException(f"Allocation {stored.allocation_id} is already in effect.")
        context["outlet_events"][BUDGETS].extra = {  # type: ignore[index]
            "allocation_id": stored.allocation_id,
            "targeting_snapshot_id": stored.inputs["targeting_snapshot_id"],
            **replay_extra(context),
        }
        return {
            "allocation_id": stored.allocation_id,
            "created": stored.created,
            "total_minor": stored.allocation.total_minor,
        }

    allocate()


allocate_budgets()
