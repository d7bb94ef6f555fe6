"""Plan → approve → apply on one ad account, of any platform (Google Ads, Meta).

`plan_account` reads the account back (GAQL, Graph API reads) and diffs it against the desired tree.
`apply_plan` sends the approved plan in the requests the account packs (Google: validate_only first,
then ≤10,000-operation atomic Mutates; Meta: batches of ≤50, each wave once its parents exist). It
converges rather than replays: after any failure that may or may not have committed (transient,
internal, lost response) it re-reads the account and re-plans, so nothing is duplicated; quota
errors resend the same request after the server's delay, or, when that delay is longer than a
worker should sit idle, raise `RetryLater` so Airflow retries the task later. It never sends an
operation the approved plan did not contain.

The stored plan survives its worker: a retry, a reschedule or a cleared task applies the same plan
again (re-read, re-plan, finish), its apply log continuing where the last attempt stopped. A server
delay longer than `max_wait_seconds` is not slept through in the worker: `RetryLater` hands the
wait to the orchestrator, which frees the pool slot and runs the apply again afterwards.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from safepassage.adapters.redaction import scrub
from safepassage.domain.push import Plan, PlanOperation, PlatformCallFailed, Tree, diff
from safepassage.services.ports import Warehouse

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60.0
WAIT_IN_WORKER_SECONDS = 15.0  # longer server delays are waited out by the orchestrator, not the worker


class Account(Protocol):
    customer_id: str
    platform: str
    read_kind: str  # how the apply log names a read-back and a write request
    write_kind: str
    validates: bool  # True: a validate_only pass precedes the real writes

    def read_tree(self) -> Tree: ...

    def requests(self, operations: Sequence[PlanOperation]) -> list[list[PlanOperation]]: ...

    def mutate(self, operations: Sequence[PlanOperation], *, validate_only: bool) -> Any: ...


class ApplyLog(Protocol):
    def record(
        self,
        request_kind: str,
        operation_count: int,
        validate_only: bool,
        outcome: str,
        detail: dict[str, Any],
    ) -> None: ...


@dataclass
class MemoryApplyLog:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self,
        request_kind: str,
        operation_count: int,
        validate_only: bool,
        outcome: str,
        detail: dict[str, Any],
    ) -> None:
        self.entries.append(
            {
                "request_kind": request_kind,
                "operation_count": operation_count,
                "validate_only": validate_only,
                "outcome": outcome,
                "detail": detail,
            }
        )


class ApplyFailed(Exception):
    """The plan could not be applied; `per_object` says which object failed and why."""

    def __init__(self, message: str, per_object: dict[str, list[str]] | None = None) -> None:
        self.per_object = per_object or {}
        lines = [message, *(f"  {key}: {'; '.join(found)}" for key, found in sorted(self.per_object.items()))]
        super().__init__("\n".join(lines))


class RetryLater(Exception):
    """The platform asked to come back after `seconds`: too long to hold a worker; nothing is lost,
    applying the same plan again later re-reads the account and carries on."""

    def __init__(self, seconds: float, reason: str) -> None:
        self.seconds, self.reason = seconds, reason
        super().__init__(f"{reason}; the platform asks to retry in {seconds:g}s")


@dataclass
class ApplyReport:
    customer_id: str
    mutate_requests: int = 0
    validate_requests: int = 0
    operations_sent: int = 0
    attempts: int = 0
    retries: list[str] = field(default_factory=list)
    converged: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


Adjust = Callable[[Tree, Tree], tuple[Tree, list[str]]]
"""(desired, reported) → the desired tree to plan and apply, and notes for the review: what the
platform's rules make a run hold back (e.g. Meta's budget changes per hour)."""


class Backoff:
    """Bounded exponential back-off shared by every retry of one plan or apply: each failure waits
    longer (capped at `MAX_BACKOFF_SECONDS`), never sooner than the server asked; after
    `max_attempts` failures it gives up; a server delay above `max_wait_seconds` raises `RetryLater`
    instead of holding the worker (None: always sleep)."""

    def __init__(
        self,
        account: Account,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 6,
        base_delay: float = 1.0,
        max_wait_seconds: float | None = None,
    ) -> None:
        self.account, self.sleep = account, sleep
        self.max_attempts, self.base_delay, self.max_wait_seconds = max_attempts, base_delay, max_wait_seconds
        self.failures = 0
        self.retries: list[str] = []

    def __call__(self, reason: str, server_delay: float | None = None) -> None:
        self.failures += 1
        if self.failures >= self.max_attempts:
            raise ApplyFailed(f"gave up after {self.failures} failed attempts; last: {reason}")
        delay = min(MAX_BACKOFF_SECONDS, self.base_delay * 2 ** (self.failures - 1))
        if server_delay is not None:
            delay = max(delay, server_delay)  # never sooner than the server asked
            if self.max_wait_seconds is not None and server_delay > self.max_wait_seconds:
                raise RetryLater(server_delay, reason)
        self.retries.append(f"{reason}; waiting {delay:g}s")
        log.warning(
            "%s %s: %s; retrying in %.1fs", self.account.platform, self.account.customer_id, reason, delay
        )
        self.sleep(delay)


def read_account(
    account: Account, backoff: Backoff, on_failure: Callable[[PlatformCallFailed], None] | None = None
) -> Tree:
    """The account as the platform reports it, reading again after each retryable failure (quota,
    transient, lost response): a read changes nothing, so it is always safe to repeat."""
    while True:
        try:
            return account.read_tree()
        except PlatformCallFailed as failure:
            if on_failure is not None:
                on_failure(failure)
            if not failure.retryable:
                raise
            backoff(f"read {failure.status}", failure.quota_delay)


def plan_account(
    account: Account, desired: Tree, adjust: Adjust | None = None, **backoff_options: Any
) -> Plan:
    return _plan_with(account, desired, adjust, **backoff_options)[0]


def _plan_with(
    account: Account, desired: Tree, adjust: Adjust | None, **backoff_options: Any
) -> tuple[Plan, Tree]:
    backoff = Backoff(account, **backoff_options)
    reported = read_account(account, backoff)
    if backoff.retries:
        log.info(
            "%s %s planned after %d retried reads",
            account.platform,
            account.customer_id,
            len(backoff.retries),
        )
    notes: list[str] = []
    if adjust is not None:
        desired, notes = adjust(desired, reported)
    return diff(account.customer_id, desired, reported, notes), desired


def signature(operation: PlanOperation) -> str:
    """What an operation does, without its temporary names (which differ between plannings)."""
    return json.dumps(
        [operation.action, operation.kind, operation.key, operation.fields, list(operation.update_mask)],
        sort_keys=True,
        default=str,
    )


def apply_plan(
    account: Account,
    desired: Tree,
    approved: Plan,
    apply_log: ApplyLog,
    *,
    sleep: Callable[[float], None] = time.sleep,
    max_attempts: int = 6,
    base_delay: float = 1.0,
    max_wait_seconds: float | None = None,
) -> ApplyReport:
    """Make the account match `desired`, sending only operations `approved` contains. A server
    delay above `max_wait_seconds` raises `RetryLater` instead of sleeping (None: always sleep)."""
    allowed = {signature(op) for op in approved.operations}
    report = ApplyReport(account.customer_id)
    backoff = Backoff(
        account,
        sleep=sleep,
        max_attempts=max_attempts,
        base_delay=base_delay,
        max_wait_seconds=max_wait_seconds,
    )
    report.retries = backoff.retries

    def log_failed_read(failure: PlatformCallFailed) -> None:
        apply_log.record(account.read_kind, 0, False, _outcome(failure), failure.as_dict())

    while True:
        report.attempts += 1
        reported = read_account(account, backoff, log_failed_read)
        apply_log.record(account.read_kind, 0, False, "ok", {"objects": len(reported)})
        current = diff(account.customer_id, desired, reported)
        if current.is_empty:
            report.converged = True
            return report
        unapproved = [op for op in current.operations if signature(op) not in allowed]
        if unapproved:
            raise ApplyFailed(
                "the account changed since the plan was approved; plan again",
                {op.key: [f"{op.action} {op.kind} is not in the approved plan"] for op in unapproved[:50]},
            )
        requests = account.requests(current.operations)
        if not requests:
            raise ApplyFailed(
                "nothing in the plan can be sent: its parents are missing",
                {
                    op.key: [f"{op.action} {op.kind} waits for {sorted(op.refs)}"]
                    for op in current.operations[:50]
                },
            )
        try:
            for validate_only in (True, False) if account.validates else (False,):
                for request in requests:
                    _send(account, request, validate_only, apply_log, report, backoff)
        except PlatformCallFailed as failure:
            if failure.is_transient:
                backoff(f"{failure.status} {sorted(failure.per_object())[:3]}", failure.quota_delay)
                continue  # it may have committed: re-read and re-plan, never replay blindly
            raise ApplyFailed(
                f"{account.platform} refused the request ({failure.status}, request id {failure.request_id})",
                failure.per_object(),
            ) from failure


def _send(
    account: Account,
    request: list[PlanOperation],
    validate_only: bool,
    apply_log: ApplyLog,
    report: ApplyReport,
    backoff: Callable[[str, float | None], None],
) -> None:
    kind = account.write_kind + (" (validate_only)" if validate_only else "")
    keys = _key_summary(request)
    while True:
        if validate_only:
            report.validate_requests += 1
        else:
            report.mutate_requests += 1
            report.operations_sent += len(request)
        try:
            outcome = account.mutate(request, validate_only=validate_only)
        except PlatformCallFailed as failure:
            detail = {**failure.as_dict(), **keys}
            apply_log.record(kind, len(request), validate_only, _outcome(failure), detail)
            if failure.is_quota:
                # Quota is checked before anything runs: the same request is safe to resend.
                backoff(f"quota exhausted ({failure.status})", failure.quota_delay)
                continue
            raise
        except Exception as error:
            apply_log.record(kind, len(request), validate_only, "refused", {"error": scrub(error), **keys})
            raise
        names = list(getattr(outcome, "resource_names", []) or [])
        apply_log.record(kind, len(request), validate_only, "ok", {**keys, "resource_names": names[:20]})
        return


def _outcome(failure: Any) -> str:
    if failure.is_quota:
        return "quota"
    if failure.is_transient:
        return "transient"
    return "rejected"


def _key_summary(request: Sequence[PlanOperation]) -> dict[str, Any]:
    countries = sorted({op.country for op in request})
    actions: dict[str, int] = {}
    for op in request:
        actions[f"{op.action} {op.kind}"] = actions.get(f"{op.action} {op.kind}", 0) + 1
    return {"countries": countries, "operations": actions}


# --- the use case as the DAG runs it: plan and store, decide, apply the stored plan ---------------

PLANNED_STATUSES = ("nothing_to_do", "auto_approved", "needs_approval")
# An approved plan stays applicable through its attempts: a retry converges on the same plan.
APPLICABLE_STATUSES = ("auto_approved", "approved", "applying", "failed", "applied")


@dataclass
class StoredPlan:
    plan_id: int
    customer_id: str
    status: str
    reasons: list[str]
    operation_count: int
    markdown: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class WarehouseApplyLog:
    """Each request to the platform as one apply_log row, written at once (kept even if apply fails)."""

    warehouse: Warehouse
    plan_id: int
    sequence: int = 0

    def record(
        self,
        request_kind: str,
        operation_count: int,
        validate_only: bool,
        outcome: str,
        detail: dict[str, Any],
    ) -> None:

        self.sequence += 1
        self.warehouse.push.add_apply_log_entry(
            self.plan_id,
            self.sequence,
            request_kind=request_kind,
            operation_count=operation_count,
            validate_only=validate_only,
            outcome=outcome,
            detail=json.loads(json.dumps(detail, default=str)),
        )


def plan_and_store(
    warehouse: Warehouse,
    account: Account,
    desired: Tree,
    thresholds: Any,
    dag_run_id: str | None = None,
    adjust: Adjust | None = None,
) -> StoredPlan:
    from safepassage.domain.approval import approval_reasons
    from safepassage.domain.push import render_markdown, tree_to_json

    # A platform delay too long for a worker raises `RetryLater`; the plan task reschedules.
    plan, desired = _plan_with(account, desired, adjust, max_wait_seconds=WAIT_IN_WORKER_SECONDS)
    reasons = approval_reasons(plan, thresholds)
    status = "nothing_to_do" if plan.is_empty else ("needs_approval" if reasons else "auto_approved")
    markdown = render_markdown(plan, [str(r) for r in reasons], thresholds.currency)
    row = dict(
        platform_code=plan.platform,
        account_external_id=account.customer_id,
        status=status,
        summary={
            "counts": plan.counts(),
            "facts": plan.facts.model_dump(mode="json"),
            "warnings": list(plan.warnings),
            "markdown": markdown,
            "desired": tree_to_json(desired),
        },
        operations=[op.model_dump(mode="json") for op in plan.operations],
        approval_reasons=[{"rule": r.rule, "country": r.country, "message": r.message} for r in reasons],
        dag_run_id=dag_run_id,
    )
    if dag_run_id is None:
        plan_id = warehouse.push.insert_plan(row)
        return StoredPlan(
            plan_id, account.customer_id, status, [str(r) for r in reasons], len(plan.operations), markdown
        )
    # A retried or cleared plan task re-plans its run's row until a person decided or apply began;
    # after that the run's plan stands (its decision and apply log belong to it).
    stored = warehouse.push.store_run_plan(row, replaceable=PLANNED_STATUSES)
    return StoredPlan(
        stored["id"],
        account.customer_id,
        stored["status"],
        stored["approval_reasons"],
        stored["operation_count"],
        stored["markdown"],
    )


def record_decision(warehouse: Warehouse, dag_run_id: str, approved: bool, by: str, note: str) -> list[int]:
    """A person's answer, written onto every plan of the run that waited for it; returns their ids."""

    return warehouse.push.decide_plans(dag_run_id, approved, by, note)


def record_expiry(warehouse: Warehouse, dag_run_id: str, note: str) -> list[int]:
    """Nobody answered the run's review in time: its waiting plans become `expired` (not applied,
    and not mistaken for a person's rejection); returns their ids."""

    return warehouse.push.decide_plans(dag_run_id, False, None, note, status="expired")


def apply_stored_plan(
    warehouse: Warehouse, account: Account, plan_id: int, **options: Any
) -> ApplyReport | None:
    """Apply a stored plan if it may be applied; None when there was nothing to do (or it was applied)."""
    from safepassage.domain.push import tree_from_json

    row = warehouse.push.load_plan(plan_id)
    if row is None:
        raise ApplyFailed(f"plan {plan_id} does not exist")
    status, summary = row["status"], row["summary"]
    customer_id = row["account_external_id"]
    if customer_id != account.customer_id:
        raise ApplyFailed(f"plan {plan_id} is for account {customer_id}, not {account.customer_id}")
    if status == "nothing_to_do":
        return None
    if status not in APPLICABLE_STATUSES:
        raise ApplyFailed(f"plan {plan_id} is {status!r}: only approved plans are applied")
    newer = warehouse.push.newer_applied_plan(plan_id)
    if newer is not None:  # converging on this plan now would undo what the newer one changed
        raise ApplyFailed(
            f"plan {plan_id} is superseded: plan {newer} for the same account was applied since"
        )
    if status == "applied":  # converged once: its outcome and apply log stand, a re-run sends nothing
        return None
    approved = plan_from_row(row)
    # `applying` until it converged: a worker that dies mid-way leaves it so, and the next try
    # carries on with the same plan; the apply log continues its sequence.
    _set_status(warehouse, plan_id, "applying", f"attempt started after {status}")
    apply_log = WarehouseApplyLog(warehouse, plan_id, warehouse.push.last_apply_log_sequence(plan_id))
    options.setdefault("max_wait_seconds", WAIT_IN_WORKER_SECONDS)
    try:
        report = apply_plan(account, tree_from_json(summary["desired"]), approved, apply_log, **options)
    except RetryLater as later:
        _set_status(warehouse, plan_id, "applying", f"waiting for the platform: {later}")
        raise
    except Exception as error:
        _set_status(warehouse, plan_id, "failed", scrub(error)[:2000])
        raise
    _set_status(warehouse, plan_id, "applied", json.dumps(report.as_dict()))
    return report


def plan_from_row(row: dict[str, Any]) -> Plan:
    """The plan as stored in the warehouse (push_store.load_plan), with its platform's shape."""
    from safepassage.domain.push import PlanFacts
    from safepassage.domain.push_google import GOOGLE_ADS
    from safepassage.domain.push_meta import META

    shape = {GOOGLE_ADS.platform: GOOGLE_ADS, META.platform: META}[row.get("platform_code") or "google_ads"]
    return Plan(
        platform=shape.platform,
        title=shape.title,
        ad_kind=shape.ad_kind,
        customer_id=row["account_external_id"],
        operations=tuple(PlanOperation.model_validate(op) for op in row["operations"]),
        facts=PlanFacts.model_validate(row["summary"]["facts"]),
    )


def _set_status(warehouse: Warehouse, plan_id: int, status: str, note: str) -> None:

    warehouse.push.set_plan_outcome(plan_id, status, note)


def recent_plans(
    warehouse: Warehouse, dag_run_id: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Stored plans, newest first, with status, counts, approval reasons and who decided."""

    return warehouse.push.recent_plans(dag_run_id, limit)
