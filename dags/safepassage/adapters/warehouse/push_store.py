"""Budgets, push plans, the apply log and kill-switch pauses in the warehouse (the SQL behind
services.budgets, services.push and services.kill_switch)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from safepassage.adapters.warehouse.engine import Database
from safepassage.adapters.warehouse.models import (
    ApplyLogEntry,
    BudgetAllocation,
    BudgetAllocationLine,
    Country,
    CountryPause,
    CreativeVersion,
    DailyPerformance,
    PushPlan,
)


class SqlPushStore:
    """Budgets, push plans, the apply log and kill-switch pauses (services.ports.PushStore)."""

    def __init__(self, warehouse: Database) -> None:
        self._warehouse = warehouse

    # --- inputs ---------------------------------------------------------------------------------------

    def newest_creative_versions(self, platform: str) -> list[tuple[str, str, str, str, dict[str, Any]]]:
        """(theme, country, language, content hash, content) of the newest version per theme × place."""
        with self._warehouse.session() as session:
            newest = (
                select(func.max(CreativeVersion.id))
                .where(CreativeVersion.platform_code == platform)
                .group_by(CreativeVersion.theme, CreativeVersion.country_code, CreativeVersion.language_code)
            )
            rows = session.scalars(select(CreativeVersion).where(CreativeVersion.id.in_(newest))).all()
            return [(r.theme, r.country_code, r.language_code, r.content_hash, dict(r.content)) for r in rows]

    def spend_by_country(self, start: dt.date, end: dt.date) -> dict[str, tuple[int, int]]:
        """Country → (cost in minor units, signposting clicks) over [start, end)."""
        with self._warehouse.session() as session:
            rows = session.execute(
                select(
                    DailyPerformance.country_code,
                    func.sum(DailyPerformance.cost_minor),
                    func.sum(DailyPerformance.signposting_clicks),
                )
                .where(DailyPerformance.date >= start, DailyPerformance.date < end)
                .group_by(DailyPerformance.country_code)
            ).all()
        return {code: (int(cost or 0), int(clicks or 0)) for code, cost, clicks in rows}

    # --- allocations ----------------------------------------------------------------------------------

    def allocation_amounts(
        self,
        before: dt.date | None = None,
        platform: str | None = None,
        on_or_before: dt.date | None = None,
    ) -> dict[str, int]:
        """Country → daily minor units of the allocation in effect: the newest by date, then by id
        (for a date before `before` / on or before `on_or_before`, if given)."""
        return self.latest_allocation(before, platform, on_or_before)[1]

    def latest_allocation(
        self,
        before: dt.date | None = None,
        platform: str | None = None,
        on_or_before: dt.date | None = None,
    ) -> tuple[dict[str, Any] | None, dict[str, int]]:
        """(inputs record, country → daily minor units) of the one in effect (as allocation_amounts)."""
        with self._warehouse.session() as session:
            query = select(BudgetAllocation)
            if before is not None:
                query = query.where(BudgetAllocation.for_date < before)
            if on_or_before is not None:
                query = query.where(BudgetAllocation.for_date <= on_or_before)
            latest = session.scalars(
                query.order_by(BudgetAllocation.for_date.desc(), BudgetAllocation.id.desc()).limit(1)
            ).first()
            if latest is None:
                return None, {}
            lines = select(
                BudgetAllocationLine.country_code, func.sum(BudgetAllocationLine.daily_amount_minor)
            ).where(BudgetAllocationLine.allocation_id == latest.id)
            if platform is not None:
                lines = lines.where(BudgetAllocationLine.platform_code == platform)
            rows = session.execute(lines.group_by(BudgetAllocationLine.country_code)).all()
            return dict(latest.inputs), {code: int(total) for code, total in rows}

    def latest_allocation_day(self) -> dt.date | None:
        """The day the newest allocation is for (the push checks platform policy for that same day)."""
        with self._warehouse.session() as session:
            return session.scalars(
                select(BudgetAllocation.for_date)
                .order_by(BudgetAllocation.for_date.desc(), BudgetAllocation.id.desc())
                .limit(1)
            ).first()

    def store_allocation(
        self,
        day: dt.date,
        inputs_hash: str,
        inputs: dict[str, Any],
        currency: str,
        lines: Sequence[tuple[str, str, int, float]],
    ) -> tuple[int, bool]:
        """Insert an allocation and its (platform, country, minor, weight) lines unless the same inputs
        were allocated before. Returns (id, created)."""
        with self._warehouse.session() as session:
            existing = session.scalar(
                select(BudgetAllocation.id).where(BudgetAllocation.inputs_hash == inputs_hash)
            )
            if existing is not None:
                return existing, False
            row = BudgetAllocation(for_date=day, inputs_hash=inputs_hash, inputs=inputs, currency=currency)
            session.add(row)
            session.flush()
            session.add_all(
                BudgetAllocationLine(
                    allocation_id=row.id,
                    platform_code=platform,
                    country_code=country,
                    daily_amount_minor=amount,
                    weight=weight,
                )
                for platform, country, amount, weight in lines
            )
            return row.id, True

    # --- push plans -----------------------------------------------------------------------------------

    def insert_plan(self, row: dict[str, Any]) -> int:
        with self._warehouse.session() as session:
            plan = PushPlan(**row)
            session.add(plan)
            session.flush()
            return plan.id

    def store_run_plan(self, row: dict[str, Any], replaceable: Sequence[str]) -> dict[str, Any]:
        """The plan of one DAG run × account, upserted on that natural key: a new row, or the run's row
        rewritten while its status is `replaceable` (not decided yet); a decided or applied plan is kept
        as it is. Returns the stored row (id, status, approval_reasons, operation_count, markdown)."""
        key = {name: row[name] for name in ("dag_run_id", "platform_code", "account_external_id")}
        for attempt in (1, 2):
            try:
                with self._warehouse.session() as session:
                    plan = session.scalars(select(PushPlan).filter_by(**key)).first()
                    if plan is None:
                        plan = PushPlan(**row)
                        session.add(plan)
                    elif plan.status in replaceable:
                        for name, value in row.items():
                            setattr(plan, name, value)
                    session.flush()
                    return {
                        "id": plan.id,
                        "status": plan.status,
                        "approval_reasons": [reason["message"] for reason in plan.approval_reasons],
                        "operation_count": len(plan.operations),
                        "markdown": plan.summary.get("markdown", ""),
                    }
            except IntegrityError:
                if attempt == 2:  # another try of the same task inserted it meanwhile: read theirs
                    raise
        raise AssertionError("unreachable")

    def load_plan(self, plan_id: int) -> dict[str, Any] | None:
        with self._warehouse.session() as session:
            row = session.get(PushPlan, plan_id)
            if row is None:
                return None
            return {
                "status": row.status,
                "summary": dict(row.summary),
                "operations": list(row.operations),
                "account_external_id": row.account_external_id,
                "platform_code": row.platform_code,
                "approval_reasons": list(row.approval_reasons),
            }

    def newer_applied_plan(self, plan_id: int) -> int | None:
        """The newest plan for the same account made after `plan_id` that was (or is being) applied."""
        with self._warehouse.session() as session:
            plan = session.get(PushPlan, plan_id)
            if plan is None:
                return None
            return session.scalar(
                select(func.max(PushPlan.id)).where(
                    PushPlan.platform_code == plan.platform_code,
                    PushPlan.account_external_id == plan.account_external_id,
                    PushPlan.id > plan_id,
                    PushPlan.status.in_(("applying", "applied")),
                )
            )

    def decide_plans(
        self,
        dag_run_id: str,
        approved: bool,
        by: str | None,
        note: str,
        status: str | None = None,
    ) -> list[int]:
        """Write a decision onto the run's plans that wait for one; `status` overrides approved/rejected
        (for example `expired` when nobody answered)."""
        with self._warehouse.session() as session:
            rows = session.scalars(
                select(PushPlan).where(PushPlan.dag_run_id == dag_run_id, PushPlan.status == "needs_approval")
            ).all()
            for row in rows:
                row.status = status or ("approved" if approved else "rejected")
                row.decided_by = by
                row.decision_note = note
                row.decided_at = dt.datetime.now(dt.UTC)
            return [row.id for row in rows]

    def set_plan_outcome(self, plan_id: int, status: str, outcome: str) -> None:
        with self._warehouse.session() as session:
            row = session.get(PushPlan, plan_id)
            if row is not None:
                row.status = status
                row.summary = {**row.summary, "outcome": outcome}

    def recent_budget_changes(
        self, platform: str, account: str, kind: str, budget_field: str, since: dt.datetime
    ) -> dict[str, int]:
        """Object key → budget updates sent to it by plans applied (or partly applied) since `since`."""
        with self._warehouse.session() as session:
            rows = session.scalars(
                select(PushPlan).where(
                    PushPlan.platform_code == platform,
                    PushPlan.account_external_id == account,
                    PushPlan.status.in_(("applied", "failed")),
                    func.coalesce(PushPlan.decided_at, PushPlan.created_at) >= since,
                )
            ).all()
            counts: dict[str, int] = {}
            for row in rows:
                for op in row.operations:
                    if (
                        op.get("kind") == kind
                        and op.get("action") == "update"
                        and budget_field in op.get("update_mask", ())
                    ):
                        counts[op["key"]] = counts.get(op["key"], 0) + 1
            return counts

    def add_apply_log_entry(self, plan_id: int, sequence: int, **values: Any) -> None:
        with self._warehouse.session() as session:
            session.add(ApplyLogEntry(plan_id=plan_id, sequence=sequence, **values))

    def last_apply_log_sequence(self, plan_id: int) -> int:
        """The sequence number of the plan's newest apply-log row (0 when nothing was sent yet)."""
        with self._warehouse.session() as session:
            found = session.scalar(
                select(func.max(ApplyLogEntry.sequence)).where(ApplyLogEntry.plan_id == plan_id)
            )
        return int(found or 0)

    # --- kill switch ----------------------------------------------------------------------------------

    def has_country(self, country: str) -> bool:
        """Whether the reference data lists the country (a pause refers to it)."""
        with self._warehouse.session() as session:
            return session.get(Country, country) is not None

    def insert_pause(self, country: str, reason: str, by: str) -> int:
        """A new active pause, or the id of the same active pause (country, reason, who) when the
        kill switch is retried: one request, one record."""
        with self._warehouse.session() as session:
            same = session.scalar(
                select(CountryPause.id).where(
                    CountryPause.country_code == country,
                    CountryPause.reason == reason,
                    CountryPause.paused_by == by,
                    CountryPause.resumed_at.is_(None),
                )
            )
            if same is not None:
                return same
            pause = CountryPause(country_code=country, reason=reason, paused_by=by, platform_results={})
            session.add(pause)
            session.flush()
            return pause.id

    def set_pause_results(self, pause_id: int, results: dict[str, Any], keep: Callable[[Any], bool]) -> None:
        """Record each platform's result; a retried kill switch leaves the results an earlier attempt
        recorded and `keep` accepts (what was paused then), so a retry's "0 paused" cannot erase them."""
        with self._warehouse.session() as session:
            row = session.get(CountryPause, pause_id)
            if row is not None:
                earlier = {
                    name: result for name, result in (row.platform_results or {}).items() if keep(result)
                }
                row.platform_results = {**results, **earlier}

    def resume_pauses(self, country: str, by: str) -> int:
        now = dt.datetime.now(dt.UTC)
        with self._warehouse.session() as session:
            active = session.scalars(
                select(CountryPause).where(
                    CountryPause.country_code == country, CountryPause.resumed_at.is_(None)
                )
            ).all()
            for pause in active:
                pause.resumed_at = now
                pause.resumed_by = by
            return len(active)

    def active_pause_reasons(self) -> dict[str, str]:
        with self._warehouse.session() as session:
            rows = session.scalars(
                select(CountryPause).where(CountryPause.resumed_at.is_(None)).order_by(CountryPause.id)
            ).all()
            return {row.country_code: f"{row.reason} (by {row.paused_by})" for row in rows}

    def recent_plans(self, dag_run_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest plans first (those of one DAG run, if given), for review pages and summaries."""
        query = select(PushPlan).order_by(PushPlan.id.desc()).limit(limit)
        if dag_run_id is not None:
            query = query.where(PushPlan.dag_run_id == dag_run_id)
        with self._warehouse.session() as session:
            return [
                {
                    "id": row.id,
                    "platform": row.platform_code,
                    "account": row.account_external_id,
                    "status": row.status,
                    "counts": dict(row.summary.get("counts", {})),
                    "operations": len(row.operations),
                    "markdown": row.summary.get("markdown", ""),
                    "approval_reasons": [reason["message"] for reason in row.approval_reasons],
                    "decided_by": row.decided_by,
                    "decision_note": row.decision_note,
                    "outcome": row.summary.get("outcome", ""),
                    "dag_run_id": row.dag_run_id,
                    "created_at": row.created_at,
                }
                for row in session.scalars(query)
            ]
