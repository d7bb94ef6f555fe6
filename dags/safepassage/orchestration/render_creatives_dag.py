"""Airflow glue for the render_creatives DAG: failing checks become a failed task with the report."""

from __future__ import annotations

from typing import Any


def check_or_fail() -> dict[str, Any]:
    """Render and check everything; raise AirflowFailException (no retry) with the report on any error."""
    from airflow.sdk.exceptions import AirflowFailException

    from safepassage.domain.errors import InvalidInput
    from safepassage.services.creatives import load_library, render_library

    try:
        library = load_library()
    except InvalidInput as error:  # an unreadable themes.yaml or config file: say where, no traceback
        print(error.render())
        raise AirflowFailException(
            f"Creatives cannot be loaded; nothing was stored.\n{error.render()}"
        ) from None
    run = render_library(library)
    report = run.report()
    print(report)
    if run.errors:
        raise AirflowFailException(
            f"Creatives failed their checks; nothing was stored and nothing downstream runs.\n{report}"
        )
    return {"fingerprint": run.fingerprint, "ads": len(run.ads), "warnings": len(run.warnings)}


def store_checked(checked: dict[str, Any], event: Any = None) -> str:
    from safepassage.orchestration.connections import open_warehouse
    from safepassage.services.creatives import check_and_store

    warehouse = open_warehouse()
    try:
        counts = check_and_store(warehouse, expected_fingerprint=str(checked["fingerprint"]))
    finally:
        warehouse.dispose()
    if event is not None:
        event.extra = {
            "new_versions": counts.new,
            "ads": checked["ads"],
            "fingerprint": checked["fingerprint"],
        }
    print(f"{counts} in {warehouse.safe_url}")
    if not counts.new:
        from airflow.sdk.exceptions import AirflowSkipException

        # Nothing new: no `creatives` event, so no push is woken for templates it already has.
        raise AirflowSkipException(f"{counts}: no new creative version, nothing to push.")
    return str(counts)
