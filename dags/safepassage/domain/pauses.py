"""The kill switch's last word before any write leaves for an ad platform. Pure, no I/O.

A pause is recorded in the warehouse the moment someone presses the switch; a plan approved earlier
knows nothing of it. So every request is checked again right before it is sent, against the pauses
active *now* (read by the caller at request time, like `BudgetGuard` reads the caps): nothing may be
created or switched on in a paused country. Platform-neutral: an operation is anything with
`action`, `kind`, `country` and `fields` (Google's plan operations; Meta's the same way).

What counts as switching on: a campaign (Google) or campaign / ad set (Meta) created or updated to
any status other than paused, archived, deleted or removed; a create without a status counts too,
because both platforms default new objects to serving. Ad groups, ads, criteria and budgets below a
paused campaign cannot serve, so a plan made after the pause (which keeps the country's campaigns
PAUSED) still applies; refusing those would stop every other country's push while one is paused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SERVING_SWITCHES = frozenset({"campaign", "ad_set", "adset"})
NOT_SERVING = frozenset({"PAUSED", "ARCHIVED", "DELETED", "REMOVED"})


class CountryPaused(RuntimeError):
    """A request would create or switch on something in a paused country; nothing was sent."""


def switches_on(operation: Any) -> bool:
    """Whether the operation would make a campaign or ad set serve."""
    if operation.kind not in SERVING_SWITCHES or operation.action not in ("create", "update"):
        return False
    if "status" not in operation.fields:
        return operation.action == "create"
    return str(operation.fields["status"]).upper() not in NOT_SERVING


@dataclass(frozen=True)
class PauseGuard:
    """Refuses any request that switches something on in a country paused now.

    `active_pauses` is called once per request, right before it is sent: country → why (and by whom).
    """

    active_pauses: Callable[[], Mapping[str, str]]

    def check(self, operations: Iterable[Any]) -> None:
        operations = list(operations)
        if not any(switches_on(op) for op in operations):
            return
        paused = self.active_pauses()
        blocked = [op for op in operations if op.country in paused and switches_on(op)]
        if blocked:
            countries = sorted({op.country for op in blocked})
            why = "; ".join(f"{country}: {paused[country]}" for country in countries)
            keys = ", ".join(op.key for op in blocked[:5]) + (" …" if len(blocked) > 5 else "")
            raise CountryPaused(
                f"refused before sending: {', '.join(countries)} paused by the kill switch since this "
                f"plan was made ({why}); it would switch on {keys}. Nothing was sent: plan again "
                "(the new plan keeps the country paused) or resume the country first."
            )
