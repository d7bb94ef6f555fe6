"""Plan → approve → apply on one Google Ads account.

`plan_account` reads the account back (GAQL) and diffs it against the desired tree. `apply_plan`
sends the approved plan: validate_only first, then the real mutates, as few requests as the
10,000-operation limit allows. It converges rather than replays: after any failure that may or
may not have committed (transient, internal, lost response) it re-reads the account and re-plans,
so nothing is duplicated; quota errors resend the same request after the server's delay. It never
sends an operation the approved plan did not contain.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from safepassage.domain.push import Plan, PlanOperation, Tree, batches, diff

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60.0


class Account(Protocol):
    customer_id: str

    def read_tree(self) -> Tree: ...

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


def plan_account(account: Account, desired: Tree) -> Plan:
    return diff(account.customer_id, desired, account.read_tree())


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
) -> ApplyReport:
    """Make the account match `desired`, sending only operations `approved` contains."""
    from safepassage.adapters.google_ads import GoogleAdsCallFailed, group_by_key

    allowed = {signature(op) for op in approved.operations}
    report = ApplyReport(account.customer_id)
    failures = 0

    def backoff(reason: str, server_delay: float | None = None) -> None:
        nonlocal failures
        failures += 1
        if failures >= max_attempts:
            raise ApplyFailed(f"gave up after {failures} failed attempts; last: {reason}")
        delay = min(MAX_BACKOFF_SECONDS, base_delay * 2 ** (failures - 1))
        if server_delay is not None:
            delay = max(delay, server_delay)  # never sooner than the server asked
        report.retries.append(f"{reason}; waiting {delay:g}s")
        log.warning("Google Ads %s: %s; retrying in %.1fs", account.customer_id, reason, delay)
        sleep(delay)

    while True:
        report.attempts += 1
        current = diff(account.customer_id, desired, account.read_tree())
        if current.is_empty:
            report.converged = True
            return report
        unapproved = [op for op in current.operations if signature(op) not in allowed]
        if unapproved:
            raise ApplyFailed(
                "the account changed since the plan was approved; plan again",
                {op.key: [f"{op.action} {op.kind} is not in the approved plan"] for op in unapproved[:50]},
            )
        requests = batches(current.operations)
        try:
            for validate_only in (True, False):
                for request in requests:
                    _send(account, request, validate_only, apply_log, report, backoff)
        except GoogleAdsCallFailed as failure:
            if failure.is_transient:
                backoff(f"{failure.status} {[e.code for e in failure.errors][:3]}")
                continue  # it may have committed: re-read and re-plan, never replay blindly
            raise ApplyFailed(
                f"Google Ads refused the request ({failure.status}, request id {failure.request_id})",
                group_by_key(failure.errors),
            ) from failure


def _send(
    account: Account,
    request: list[PlanOperation],
    validate_only: bool,
    apply_log: ApplyLog,
    report: ApplyReport,
    backoff: Callable[[str, float | None], None],
) -> None:
    from safepassage.adapters.google_ads import GoogleAdsCallFailed

    kind = "GoogleAdsService.Mutate" + (" (validate_only)" if validate_only else "")
    keys = _key_summary(request)
    while True:
        if validate_only:
            report.validate_requests += 1
        else:
            report.mutate_requests += 1
            report.operations_sent += len(request)
        try:
            outcome = account.mutate(request, validate_only=validate_only)
        except GoogleAdsCallFailed as failure:
            detail = {**failure.as_dict(), **keys}
            apply_log.record(kind, len(request), validate_only, _outcome(failure), detail)
            if failure.is_quota:
                # Quota is checked before anything runs: the same request is safe to resend.
                backoff(f"quota exhausted ({failure.status})", failure.quota_delay)
                continue
            raise
        except Exception as error:
            apply_log.record(kind, len(request), validate_only, "refused", {"error": str(error), **keys})
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
