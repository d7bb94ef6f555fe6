"""The Meta side of plan → approve → apply: its desired tree from the warehouse, and the rule its plans
respect on top of the shared ones (at most 4 budget changes an hour per campaign). Planning, approval,
storing and applying are the shared ones in `services.push`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from safepassage.domain.campaign import CampaignConfig, Platform
from safepassage.domain.errors import InvalidInput, Problem
from safepassage.domain.push import Tree
from safepassage.domain.push_meta import META, MetaAccountSettings, desired_tree, hold_budget_changes
from safepassage.domain.push_settings import PlatformAccount
from safepassage.services.ports import Warehouse


def account_settings(account: PlatformAccount, config: CampaignConfig) -> MetaAccountSettings:
    defaults = config.policy.platforms.get(Platform.META)
    return MetaAccountSettings(
        page_id=account.page_id or "",
        dsa_beneficiary=account.dsa_beneficiary or "",
        dsa_payor=account.dsa_payor or "",
        special_ad_categories=tuple(defaults.special_ad_categories) if defaults else (),
        social_issue=config.policy.campaign_is_social_issue,
    )


def desired_for_meta_account(
    warehouse: Warehouse, config: CampaignConfig, account: PlatformAccount, on: dt.date | None = None
) -> tuple[Tree, list[str]]:
    """The desired Meta tree from the newest targeting, creatives, allocation and kill-switch pauses,
    and the countries policy leaves out (for the review). Policy is checked for `on`, by default the
    day of the newest allocation, so the push and the allocator agree on where Meta may serve."""
    from safepassage import settings
    from safepassage.services.push_inputs import (
        allocation_with_targeting,
        current_meta_creatives,
        image_library,
        latest_allocation_minor,
        meta_targeting,
    )

    # the targeting the allocation in effect was made from, so places and budgets match (as on Google)
    document = allocation_with_targeting(warehouse, Platform.META, config.budget.currency)[1]
    if document is None:
        raise InvalidInput(
            [Problem("warehouse targeting_snapshot", "", "no targeting yet: run refresh_targeting")]
        )
    day = on or warehouse.push.latest_allocation_day() or dt.datetime.now(dt.UTC).date()
    targeting, left_out = meta_targeting(document, config, day)
    targeting = [t for t in targeting if account.serves(t.country)]
    images = image_library(settings.creatives_dir())
    tree = desired_tree(
        targeting,
        current_meta_creatives(warehouse, images),
        latest_allocation_minor(warehouse, Platform.META),
        account_settings(account, config),
        images.values(),
        warehouse.push.active_pause_reasons(),
    )
    return tree, left_out


def budget_rule(
    warehouse: Warehouse, account_id: str, left_out: list[str], now: dt.datetime | None = None
) -> Callable[[Tree, Tree], tuple[Tree, list[str]]]:
    """The plan's adjustment for Meta: hold back budget changes the 4-an-hour rule forbids (counted
    from the plans applied in the last hour), and say which countries policy leaves out."""

    since = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(hours=1)

    def adjust(desired: Tree, reported: Tree) -> tuple[Tree, list[str]]:
        recent = warehouse.push.recent_budget_changes(
            META.platform, account_id, META.budget_kind, META.budget_field, since
        )
        held, notes = hold_budget_changes(desired, reported, recent)
        return held, [*left_out, *notes]

    return adjust
