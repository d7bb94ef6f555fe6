"""
### Allocate budgets

Splits the campaign's daily budget (`config/push.yaml`, never above the global cap in
`config/budget.yaml`) across the 19 countries and the two platforms, following the newest
targeting weights and, once performance data exists, the cost per signposting click.

Every country stays within its floor and hard cap, within its monthly ceiling (30.4 × daily cap,
paced over the days left in the month) and moves at most the configured share from one day to
the next. Amounts are whole cents. Each allocation is stored with all its inputs; a re-run with
the same inputs stores nothing new.

**Runs:** daily at 04:30 UTC, and whenever the targeting changes (param `as_of` replays a past day).
**Produces:** the `budgets` asset (read by `push_campaigns`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from safepassage.orchestration.assets import BUDGETS, TARGETING
from safepassage.orchestration.defaults import DEFAULT_ARGS
from safepassage.orchestration.run_day import as_of_param


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("30 4 * * *", timezone="UTC"), assets=TARGETING
    ),
    start_date=pendulum.datetime(2022, 3, 25, tz="UTC"),
    catchup=False,  # an allocation is for today; yesterday's money is already spent
    tags=["safepassage", "budgets"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    params={"as_of": as_of_param("Allocation")},
)
def allocate_budgets() -> None:
    @task(outlets=[BUDGETS])
    def allocate(**context: object) -> dict[str, object]:
        from safepassage.orchestration.connections import open_warehouse
        from safepassage.orchestration.run_day import run_day
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
        return {
            "allocation_id": stored.allocation_id,
            "created": stored.created,
            "total_minor": stored.allocation.total_minor,
        }

    allocate()


allocate_budgets()
