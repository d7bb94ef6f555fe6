"""Every Asset SafePassage produces or consumes, named once. DAG files import from here.

URIs use the `safepassage://` scheme: these are logical datasets held in the warehouse, not files.
"""

from __future__ import annotations

from airflow.sdk import Asset

REFERENCE_DATA = Asset(
    name="reference_data",
    uri="safepassage://warehouse/reference_data",
    group="safepassage",
    extra={"holds": "countries, languages, platforms, support organisations from config/"},
)

KEY_JUDGEMENTS = Asset(
    name="key_judgements",
    uri="safepassage://intelligence/key_judgements",
    group="safepassage",
    extra={"holds": "analysts' published key judgements (events say 'a new one exists')"},
)

TARGETING = Asset(
    name="targeting",
    uri="safepassage://warehouse/targeting",
    group="safepassage",
    extra={"holds": "targeting snapshots per country and platform"},
)

CREATIVES = Asset(
    name="creatives",
    uri="safepassage://warehouse/creatives",
    group="safepassage",
    extra={"holds": "checked, versioned creative renders"},
)

BUDGETS = Asset(
    name="budgets",
    uri="safepassage://warehouse/budgets",
    group="safepassage",
    extra={"holds": "daily budget allocations per country and platform"},
)

CAMPAIGNS = Asset(
    name="campaigns",
    uri="safepassage://platforms/campaigns",
    group="safepassage",
    extra={"holds": "what was applied to the ad platforms"},
)

PERFORMANCE = Asset(
    name="performance",
    uri="safepassage://warehouse/performance",
    group="safepassage",
    extra={"holds": "daily performance facts and period reach"},
)


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
