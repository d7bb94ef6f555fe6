"""The kill switch: stop everything in one country on every platform at once, and say who and why.

The pause is recorded in the warehouse and pushed straight to each platform without approval
(pausing only ever lowers spend). The two are independent: the record is written first so that the
pause guard refuses, from that moment, any request that would switch something on in the country
(even one from a plan approved earlier); if the record cannot be written (e.g. a fresh installation
whose reference data was never synced, or the warehouse is down), every platform is still paused and
the command then fails naming what was not recorded. A platform that could not be paused fails the
command too, naming the platform and the reason: the kill switch never reports a false success.
Resuming only clears the record; the country serves again through the next plan → approve → apply
run, because starting to spend again deserves the usual checks.

One rule on both platforms (docs/push.md): everything in SafePassage's connected accounts that
reaches the country is paused, whoever made it. What SafePassage does not manage is named in the
result and stays paused after a resume: a person re-enables it. An ad set or campaign shared with
other countries is paused too and named, so a person can split it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from safepassage.adapters.redaction import scrub
from safepassage.domain.geo import Geography
from safepassage.domain.push import PAUSED, Node, PlanOperation, Tree
from safepassage.services.ports import Warehouse
from safepassage.services.push import Account, ApplyLog, MemoryApplyLog, apply_plan, plan_account

FAILED = "FAILED"


class MetaAccount(Protocol):
    account_id: str

    def pause_country(self, country: str) -> Sequence[Any]: ...


class PauseFailed(RuntimeError):
    """The pause did not reach every platform (or was not recorded); the message names each failure."""

    def __init__(self, result: PauseResult, failures: Sequence[str]) -> None:
        self.result = result
        self.failures = list(failures)
        lines = [f"  {key}: {result.platforms.get(key, result.record_problem)}" for key in failures]
        super().__init__(
            f"{result.country} NOT fully paused ({len(failures)} failure(s)); run the pause again:\n"
            + "\n".join(lines)
            + f"\nEverything else: {result.summary()}"
        )


def _place(country: str) -> str:
    return "anywhere" if country == "*" else country


def _meta_outcome(paused: Sequence[Any], country: str) -> str:
    shared = [f"{ad_set.name or ad_set.id} ({', '.join(map(_place, ad_set.countries))})" for ad_set in paused
              if tuple(ad_set.countries) != (country,)]  # fmt: skip
    text = f"{len(paused)} ad set(s) paused"
    return text + (f"; also reaching other countries: {'; '.join(shared)}" if shared else "")


@dataclass
class PauseResult:
    country: str
    pause_id: int | None
    platforms: dict[str, Any] = field(default_factory=dict)
    record_problem: str = ""

    def summary(self) -> str:
        parts = [f"{platform}: {result}" for platform, result in sorted(self.platforms.items())]
        record = (
            f"record {self.pause_id}" if self.pause_id is not None else f"NOT recorded: {self.record_problem}"
        )
        return f"{self.country} paused ({record}); " + "; ".join(parts)

    @property
    def failures(self) -> list[str]:
        failed = [key for key, value in sorted(self.platforms.items()) if str(value).startswith(FAILED)]
        return failed + (["warehouse (country_pause)"] if self.pause_id is None else [])


def paused_tree(actual: Tree, country: str) -> Tree:
    """The account as it is, with every campaign of `country` paused."""
    tree = Tree()
    for node in actual.nodes.values():
        if node.kind == "campaign" and node.country == country and node.fields.get("status") != "REMOVED":
            node = Node(node.kind, node.key, node.country, {**node.fields, "status": PAUSED}, node.parent,
                        node.resource_name)  # fmt: skip
        tree.add(node)
    return tree


def pause_on_google(
    account: Account,
    country: str,
    geography: Geography | None = None,
    apply_log: ApplyLog | None = None,
    **options: Any,
) -> str:
    """Pause every campaign reaching the country on one account; says how many (0: already paused).

    SafePassage's own campaigns (`SP|<country>|…`) go through plan → apply; with a `geography`, the
    account's other enabled campaigns reaching the country are paused too and named.
    """
    desired = paused_tree(account.read_tree(), country)
    plan = plan_account(account, desired)
    if not plan.is_empty:
        apply_plan(account, desired, plan, apply_log or MemoryApplyLog(), **options)
    outcome = f"{len(plan.operations)} campaign(s) paused"
    finder = getattr(account, "unmanaged_campaigns_reaching", None)
    if geography is None or finder is None:
        return outcome
    others = finder(country, geography)
    if others:
        account.mutate([_pause_operation(campaign, country) for campaign in others], validate_only=False)
        names = "; ".join(f"{c.name} ({', '.join(map(_place, c.countries))})" for c in others)
        outcome += f"; not managed by SafePassage, paused too (re-enable by hand after resuming): {names}"
    return outcome


def _pause_operation(campaign: Any, country: str) -> PlanOperation:
    return PlanOperation(
        action="update",
        kind="campaign",
        key=campaign.name,
        country=country,
        resource_name=campaign.resource_name,
        fields={"status": PAUSED},
        update_mask=("status",),
        before={"status": "ENABLED"},
        why="kill switch: reaches a paused country",
    )


def pause_country(
    warehouse: Warehouse | None,
    country: str,
    reason: str,
    by: str,
    google_accounts: Sequence[Account] = (),
    meta_accounts: Sequence[MetaAccount] = (),
    known_countries: Sequence[str] = (),
    platform_problems: dict[str, str] | None = None,
    pause_google: Callable[..., str] = pause_on_google,
    prepare_record: Callable[[], None] | None = None,
    geography: Geography | None = None,
) -> PauseResult:
    """Pause `country` everywhere; raises `PauseFailed` (after trying everything) if anything failed.

    `platform_problems`: platforms that could not even be reached (no connection...), by name; each
    counts as a failure. `prepare_record`: makes the record possible (e.g. loads the reference data
    on a fresh installation); its failure does not stop the platform calls. `geography`: tells which
    countries a pin or a non-SafePassage campaign reaches (without it, only SafePassage's campaigns
    are paused on Google).
    """
    country = country.upper()
    if known_countries and country not in known_countries:
        raise ValueError(
            f"unknown country {country!r}; config/countries.yaml lists {', '.join(known_countries)}"
        )
    if len(reason.strip()) < 5:
        raise ValueError(
            "give a reason (at least a few words): it is shown to everyone who reviews the pause"
        )
    result = PauseResult(country, None)
    try:  # first, so the pause guard refuses re-enabling from now on; never instead of the platforms
        if prepare_record is not None:
            prepare_record()
        if warehouse is None:
            raise RuntimeError("no warehouse")
        result.pause_id = warehouse.push.insert_pause(country, reason.strip(), by)
    except Exception as error:
        result.record_problem = f"{FAILED}: {type(error).__name__}: {scrub(error)[:500]}"
    for name, problem in (platform_problems or {}).items():
        result.platforms[name] = f"{FAILED}: {scrub(problem)}"
    for account in google_accounts:
        try:
            result.platforms[f"google_ads {account.customer_id}"] = pause_google(account, country, geography)
        except Exception as error:  # recorded, and raised after the other platforms were tried
            result.platforms[f"google_ads {account.customer_id}"] = f"{FAILED}: {scrub(error)[:1000]}"
    for meta in meta_accounts:
        try:
            result.platforms[f"meta {meta.account_id}"] = _meta_outcome(meta.pause_country(country), country)
        except Exception as error:  # recorded, and raised after the other platforms were tried
            result.platforms[f"meta {meta.account_id}"] = f"{FAILED}: {scrub(error)[:1000]}"
    if warehouse is not None and result.pause_id is not None:
        try:
            warehouse.push.set_pause_results(
                result.pause_id,
                dict(result.platforms),
                keep=lambda r: not str(r).startswith(FAILED),
            )
        except Exception as error:
            result.record_problem = f"{FAILED}: results not stored: {scrub(error)[:500]}"
            result.platforms["warehouse (country_pause)"] = result.record_problem
    if result.failures:
        raise PauseFailed(result, result.failures)
    return result


def resume_country(warehouse: Warehouse, country: str, by: str) -> int:
    """Close the country's active pauses; returns how many. Serving resumes with the next push run."""
    return warehouse.push.resume_pauses(country.upper(), by)


def active_pauses(warehouse: Warehouse) -> dict[str, str]:
    """Country → why it is paused (the newest reason), for every country paused now."""
    return warehouse.push.active_pause_reasons()
