"""Every Asset SafePassage produces or consumes, named once. DAG files import from here.

URIs use the `safepassage://` scheme: these are logical datasets held in the warehouse, not files.
"""

from __future__ import annotations

from airflow.sdk import Asset


def _asset(name: str, area: str, holds: str) -> Asset:
    return Asset(name=name, uri=f"safepassage://{area}/{name}", group="safepassage", extra={"holds": holds})


REFERENCE_DATA = _asset(
    "reference_data", "warehouse", "countries, languages, platforms, support organisations from config/"
)
KEY_JUDGEMENTS = _asset(
    "key_judgements", "intelligence", "analysts' published key judgements (events say 'a new one exists')"
)
TARGETING = _asset("targeting", "warehouse", "targeting snapshots per country and platform")
CREATIVES = _asset("creatives", "warehouse", "checked, versioned creative renders")
BUDGETS = _asset("budgets", "warehouse", "daily budget allocations per country and platform")
CAMPAIGNS = _asset("campaigns", "platforms", "what was applied to the ad platforms")
PERFORMANCE = _asset("performance", "warehouse", "daily performance facts and period reach")


def watched_key_judgements() -> Asset:
    """KEY_JUDGEMENTS with the watcher that turns a broker message into an asset event.

    Only the DAG scheduled on key judgements needs this; it keeps the messaging provider out of
    every other DAG file's imports.
    """
    from safepassage.orchestration.triggers import judgement_watchers

    return Asset(
        name=KEY_JUDGEMENTS.name,
        uri=KEY_JUDGEMENTS.uri,
        group=KEY_JUDGEMENTS.group,
        extra=KEY_JUDGEMENTS.extra,
        watchers=judgement_watchers(),
    )
