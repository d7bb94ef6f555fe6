"""
### Refresh targeting

Turns the key judgement in force into platform targeting: for every campaign country and each
platform (Google Ads, Meta) the places (country or radii around hotspots), languages, broad adult
age range, mobile emphasis, placements and a budget weight. Refusals (a platform's policy in a
country, the policy guard against sensitive targeting) are recorded with their reason.

It reads **all** judgements from the judgement store (`safepassage intel publish` puts them
there), validates them together, and picks the one whose validity window contains the run's day
(the `as_of` param overrides, e.g. `2022-05-01` to replay 2022; so does the `replay_day` of the
event that woke it). A replay is refused where a live ad account is configured, unless the
`replay_on_live` param is ticked; a replayed day's snapshot never becomes the live targeting, which
is always the one with the latest effective date. A broken judgement fails the task
with file, line and field, and nothing is stored. An unchanged result stores nothing and the task
ends *skipped*, so downstream DAGs are not woken for nothing.

**Runs:** daily at 05:00 UTC, and within seconds of an event on the `key_judgements` asset: a
Redis message on the judgement channel (AssetWatcher) or `POST /api/v2/assets/events`.
**Produces:** the `targeting` asset (event extra: `snapshot_id`, `judgement_id`, `replay_day`
when replaying), which wakes `allocate_budgets`.
The task log shows what changed since the previous snapshot as a table.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import AssetOrTimeSchedule, dag, task

from safepassage.orchestration.assets import TARGETING, watched_key_judgements
from safepassage.orchestration.defaults import DEFAULT_ARGS, daily_at
from safepassage.orchestration.run_day import replay_params


@dag(
    schedule=AssetOrTimeSchedule(
        timetable=daily_at("0 5 * * *"),
        assets=watched_key_judgements(),
    ),
    catchup=False,  # each run derives today's targeting from the whole store; old days need no runs
    max_active_runs=1,  # two runs at once would diff against the same previous snapshot
    tags=["safepassage", "intelligence", "targeting"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
    params=replay_params("Targeting"),
)
def refresh_targeting() -> None:
    @task(outlets=[TARGETING])
    def derive_and_store(**context: Any) -> dict[str, Any]:

        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from safepassage.domain.errors import InvalidInput
        from safepassage.orchestration.connections import open_warehouse
        from safepassage.orchestration.run_day import replay_extra, run_day
        from safepassage.services.campaign_config import load_campaign_config
        from safepassage.services.intelligence import refresh_targeting as refresh

        as_of = run_day(context)
        warehouse = open_warehouse()
        warehouse.migrate()
        try:
            result = refresh(load_campaign_config(), warehouse, as_of)
        except InvalidInput as error:
            # Bad input does not get better on retry: fail once, with every problem listed.
            raise AirflowFailException(f"Key judgements are invalid; nothing was stored.\n{error}") from None
        print(result.summary())
        print(result.table)
        if not result.stored:
            raise AirflowSkipException(result.summary())
        context["outlet_events"][TARGETING].extra = {
            "snapshot_id": result.snapshot_id,
            "judgement_id": result.judgement_id,
            "as_of": result.as_of.isoformat(),
            **replay_extra(context),
        }
        return {"snapshot_id": result.snapshot_id, "judgement_id": result.judgement_id}

    derive_and_store()


refresh_targeting()
