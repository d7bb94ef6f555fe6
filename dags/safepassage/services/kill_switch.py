"""The kill switch: stop everything in one country on every platform at once, and say who and why.

The pause is recorded in the warehouse first (so every later plan keeps the country paused even
if a platform call fails), then pushed straight to each platform without approval: pausing only
ever lowers spend. Resuming only clears the record; the country serves again through the next
plan → approve → apply run, because starting to spend again deserves the usual checks.

On Meta, where SafePassage does not push yet, every active ad set reaching the country is paused,
whoever made it; an ad set shared with other countries is paused too and named in the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from safepassage.adapters.warehouse import Warehouse, push_store
from safepassage.domain.push import PAUSED, Node, Tree
from safepassage.services.push import Account, ApplyLog, MemoryApplyLog, apply_plan, plan_account


class MetaAccount(Protocol):
    account_id: str

    def pause_country(self, country: str) -> Sequence[Any]: ...


def _meta_outcome(paused: Sequence[Any], country: str) -> str:
    shared = [f"{ad_set.name or ad_set.id} ({', '.join(ad_set.countries)})" for ad_set in paused
              if tuple(ad_set.countries) != (country,)]  # fmt: skip
    text = f"{len(paused)} ad set(s) paused"
    return text + (f"; also reaching other countries: {'; '.join(shared)}" if shared else "")


@dataclass
class PauseResult:
    country: str
    pause_id: int
    platforms: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{platform}: {result}" for platform, result in sorted(self.platforms.items())]
        return f"{self.country} paused (record {self.pause_id}); " + "; ".join(parts)


def paused_tree(actual: Tree, country: str) -> Tree:
    """The account as it is, with every campaign of `country` paused."""
    tree = Tree()
    for node in actual.nodes.values():
        if node.kind == "campaign" and node.country == country and node.fields.get("status") != "REMOVED":
            node = Node(node.kind, node.key, node.country, {**node.fields, "status": PAUSED}, node.parent,
                        node.resource_name)  # fmt: skip
        tree.add(node)
    return tree


def pause_on_google(account: Account, country: str, apply_log: ApplyLog | None = None, **options: Any) -> int:
    """Pause the country's campaigns on one account; returns how many changed (0 if already paused)."""
    desired = paused_tree(account.read_tree(), country)
    plan = plan_account(account, desired)
    if plan.is_empty:
        return 0
    apply_plan(account, desired, plan, apply_log or MemoryApplyLog(), **options)
    return len(plan.operations)


def pause_country(
    warehouse: Warehouse,
    country: str,
    reason: str,
    by: str,
    google_accounts: Sequence[Account] = (),
    meta_accounts: Sequence[MetaAccount] = (),
    known_countries: Sequence[str] = (),
    meta_problem: str = "",
    pause_google: Callable[[Account, str], int] = pause_on_google,
) -> PauseResult:
    country = country.upper()
    if known_countries and country not in known_countries:
        raise ValueError(
            f"unknown country {country!r}; config/countries.yaml lists {', '.join(known_countries)}"
        )
    if len(reason.strip()) < 5:
        raise ValueError(
            "give a reason (at least a few words): it is shown to everyone who reviews the pause"
        )
    pause_id = push_store.insert_pause(warehouse, country, reason.strip(), by)
    result = PauseResult(country, pause_id)
    for account in google_accounts:
        try:
            changed = pause_google(account, country)
            result.platforms[f"google_ads {account.customer_id}"] = f"{changed} campaign(s) paused"
        except Exception as error:  # recorded, and raised after the other platforms were tried
            result.platforms[f"google_ads {account.customer_id}"] = f"FAILED: {error}"
    if meta_problem:
        result.platforms["meta"] = meta_problem
    for meta in meta_accounts:
        try:
            result.platforms[f"meta {meta.account_id}"] = _meta_outcome(meta.pause_country(country), country)
        except Exception as error:  # recorded, and raised after the other platforms were tried
            result.platforms[f"meta {meta.account_id}"] = f"FAILED: {error}"
    push_store.set_pause_results(warehouse, pause_id, dict(result.platforms))
    failed = [key for key, value in result.platforms.items() if str(value).startswith("FAILED")]
    if failed:
        raise RuntimeError(f"{result.summary()}\nNot paused on {', '.join(failed)}: retry the command")
    return result


def resume_country(warehouse: Warehouse, country: str, by: str) -> int:
    """Close the country's active pauses; returns how many. Serving resumes with the next push run."""
    return push_store.resume_pauses(warehouse, country.upper(), by)


def active_pauses(warehouse: Warehouse) -> dict[str, str]:
    """Country → why it is paused (the newest reason), for every country paused now."""
    return push_store.active_pause_reasons(warehouse)
