"""The Google Ads side of plan → approve → apply: its desired tree from the warehouse. The neutral
plan/apply loop is `services.push`; Meta's side is `services.push_meta`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from safepassage.domain.push import Tree
from safepassage.services.ports import Warehouse


def desired_for_google_account(warehouse: Warehouse, config: Any, serves: Callable[[str], bool]) -> Tree:
    """The desired tree from the allocation in effect and the targeting it was derived from, the newest
    creatives and the kill-switch pauses."""
    from safepassage.domain.campaign import Platform
    from safepassage.domain.errors import InvalidInput, Problem
    from safepassage.domain.push_google import desired_tree
    from safepassage.services.push_inputs import (
        allocation_with_targeting,
        current_google_creatives,
        google_targeting,
    )

    # The targeting the allocation in effect was derived from: budgets and places always match.
    budgets, document = allocation_with_targeting(warehouse, Platform.GOOGLE_ADS, config.budget.currency)
    if document is None:
        raise InvalidInput(
            [Problem("warehouse targeting_snapshot", "", "no targeting yet: run refresh_targeting")]
        )
    targeting = [t for t in google_targeting(document, config) if serves(t.country)]
    pauses = warehouse.push.active_pause_reasons()
    return desired_tree(targeting, current_google_creatives(warehouse), budgets, pauses)
