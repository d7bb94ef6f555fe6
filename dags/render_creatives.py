"""
### Render creatives

Renders every ad from the campaign managers' templates in `creatives/` — each message theme ×
country × language the country serves × platform (Google responsive search ad, Meta feed ad) —
checks each one (platform length limits, translations, placeholders, script, signposting links,
duplicate headlines) and stores each new creative version (content hash) in the warehouse.

* **check_creatives** renders and checks. Any error fails the run here, with the full report
  (file and line to fix) in the task log; nothing is stored and no `creatives` event is emitted,
  so no plan is made from broken ads. Fix the files, run `safepassage creatives check`, re-trigger.
* **store_versions** re-renders, verifies it is storing exactly what was checked, and inserts only
  versions not stored before. Emits the `creatives` asset (which wakes `push_campaigns`) only when
  something new was stored; an unchanged library ends *skipped* and wakes nobody.

**Runs:** daily and whenever `reference_data` is refreshed (support organisations change links),
and on manual trigger after editing `creatives/`.
**Produces:** the `creatives` asset.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import AssetOrTimeSchedule, dag, task

from safepassage.orchestration.assets import CREATIVES, REFERENCE_DATA
from safepassage.orchestration.defaults import DEFAULT_ARGS, daily_at


@dag(
    schedule=AssetOrTimeSchedule(timetable=daily_at("30 5 * * *"), assets=[REFERENCE_DATA]),
    catchup=False,  # renders reflect today's templates; there is nothing to back-fill
    tags=["safepassage", "creatives"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def render_creatives() -> None:
    @task  # a failed check raises AirflowFailException: bad input fails at once, without retries
    def check_creatives() -> dict[str, object]:
        from safepassage.orchestration.render_creatives_dag import check_or_fail

        return check_or_fail()

    @task(outlets=[CREATIVES])
    def store_versions(checked: dict[str, object], outlet_events: Any = None) -> str:
        from safepassage.orchestration.render_creatives_dag import store_checked

        return store_checked(checked, outlet_events[CREATIVES] if outlet_events is not None else None)

    store_versions(check_creatives())


render_creatives()
