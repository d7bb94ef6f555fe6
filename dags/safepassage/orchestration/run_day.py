"""The day a run works for: its own day, or a replayed day (e.g. 2022) — and the guard that keeps a
replay away from a live deployment.

A replay day comes from the `as_of` param (a person's trigger) or from the `replay_day` key of the
asset event that started the run (`make demo` publishes each 2022 judgement with it, and each DAG
passes it on in its own event), so an event-driven chain replays one day end to end.

A replay is refused where a live ad-platform Connection (`google_ads_default`, `meta_default`) is
configured and no sandbox is, unless the person sets `replay_on_live`: a replay's snapshot and
allocation are dated in the past, so they never become what the live push reads, but a live
deployment should not be fed 2022 by accident.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Param

REPLAY_DAY = "replay_day"  # the key in an asset event's extra


def as_of_param(what: str) -> Param:
    return Param(
        None,
        type=["null", "string"],
        format="date",
        title=f"{what} for day (YYYY-MM-DD)",
        description="Leave empty for the run's own day; set a past date (e.g. 2022-05-01) to replay it.",
    )


def replay_params(what: str) -> dict[str, Param]:
    return {
        "as_of": as_of_param(what),
        "replay_on_live": Param(
            False,
            type="boolean",
            title="Replay even though a live ad account is configured",
            description="A replay (as_of) is refused where google_ads_default or meta_default is a live "
            "account; tick this only if you mean to replay into the live warehouse.",
        ),
    }


def replay_day_of(context: Any) -> dt.date | None:
    """The replayed day, if this run replays one: the `as_of` param, else its triggering event's."""
    as_of = context["params"].get("as_of")
    if not as_of:
        days = [
            str(event.extra[REPLAY_DAY])
            for asset in context.get("triggering_asset_events") or {}
            for event in context["triggering_asset_events"][asset]
            if (event.extra or {}).get(REPLAY_DAY)
        ]
        as_of = max(days) if days else None
    return dt.date.fromisoformat(as_of) if as_of else None


def run_day(context: Any) -> dt.date:
    """The day this run works for; a replay is refused on a live deployment (see the module doc)."""
    replayed = replay_day_of(context)
    if replayed is None:
        return context["dag_run"].run_after.date()
    if not context["params"].get("replay_on_live") and live_platform_configured():
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(
            f"Refused to replay {replayed}: a live ad-platform Connection is configured, and a replay "
            "must not feed a past day into a live deployment. Nothing was stored. Trigger again with "
            "`replay_on_live` ticked if you mean it."
        )
    return replayed


def replay_extra(context: Any) -> dict[str, str]:
    """What a DAG adds to its own asset event so the next DAG in the chain replays the same day."""
    replayed = replay_day_of(context)
    return {REPLAY_DAY: replayed.isoformat()} if replayed else {}


def live_platform_configured() -> bool:
    """A real Google Ads or Meta Connection exists and no sandbox descriptor overrides it."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from safepassage.orchestration.connections import GOOGLE_ADS_CONN_ID, META_CONN_ID, emulators_descriptor

    if emulators_descriptor() is not None:
        return False
    for conn_id in (GOOGLE_ADS_CONN_ID, META_CONN_ID):
        try:
            BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            continue
        return True
    return False
