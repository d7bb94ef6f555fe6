"""The ports the services use: what they need of the warehouse, as typed protocols.

Services never import the warehouse adapter; they receive a `Warehouse` (in production the SQL one,
`safepassage.adapters.warehouse.Warehouse`, opened by `orchestration.connections.open_warehouse`, the
one place that wires adapters to services) and call its stores: `warehouse.push.load_plan(plan_id)`.
A test may hand a service anything with the same shape. mypy checks that the SQL stores satisfy these
protocols (`tests/unit/test_ports.py` and the assignments at the end of the adapter package).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from safepassage.domain.impact import Period, ReachFigure, Slice, Traffic
from safepassage.domain.performance import AccountTree, LoadResult, PulledRow, ReachRow, Window
from safepassage.domain.targeting import StoredJudgement, StoredSnapshot


class PushStore(Protocol):
    """Budgets, push plans, the apply log and the kill switch's pauses."""

    def newest_creative_versions(self, platform: str) -> list[tuple[str, str, str, str, dict[str, Any]]]: ...

    def spend_by_country(self, start: dt.date, end: dt.date) -> dict[str, tuple[int, int]]: ...

    def allocation_amounts(
        self,
        before: dt.date | None = None,
        platform: str | None = None,
        on_or_before: dt.date | None = None,
    ) -> dict[str, int]: ...

    def latest_allocation(
        self,
        before: dt.date | None = None,
        platform: str | None = None,
        on_or_before: dt.date | None = None,
    ) -> tuple[dict[str, Any] | None, dict[str, int]]: ...

    def latest_allocation_day(self) -> dt.date | None: ...

    def store_allocation(
        self,
        day: dt.date,
        inputs_hash: str,
        inputs: dict[str, Any],
        currency: str,
        lines: Sequence[tuple[str, str, int, float]],
    ) -> tuple[int, bool]: ...

    def insert_plan(self, row: dict[str, Any]) -> int: ...

    def store_run_plan(self, row: dict[str, Any], replaceable: Sequence[str]) -> dict[str, Any]: ...

    def load_plan(self, plan_id: int) -> dict[str, Any] | None: ...

    def newer_applied_plan(self, plan_id: int) -> int | None: ...

    def decide_plans(
        self,
        dag_run_id: str,
        approved: bool,
        by: str | None,
        note: str,
        status: str | None = None,
    ) -> list[int]: ...

    def set_plan_outcome(self, plan_id: int, status: str, outcome: str) -> None: ...

    def recent_budget_changes(
        self, platform: str, account: str, kind: str, budget_field: str, since: dt.datetime
    ) -> dict[str, int]: ...

    def add_apply_log_entry(self, plan_id: int, sequence: int, **values: Any) -> None: ...

    def last_apply_log_sequence(self, plan_id: int) -> int: ...

    def has_country(self, country: str) -> bool: ...

    def insert_pause(self, country: str, reason: str, by: str) -> int: ...

    def set_pause_results(
        self, pause_id: int, results: dict[str, Any], keep: Callable[[Any], bool]
    ) -> None: ...

    def resume_pauses(self, country: str, by: str) -> int: ...

    def active_pause_reasons(self) -> dict[str, str]: ...

    def recent_plans(self, dag_run_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]: ...


class PerformanceStore(Protocol):
    """Daily performance facts and reach, loaded one account's window at a time."""

    def replace_window(
        self,
        tree: AccountTree,
        window: Window,
        rows: Iterable[PulledRow],
        *,
        reach: Sequence[ReachRow] = (),
        platform_totals: Mapping[dt.date, Mapping[str, int]] | None = None,
        overdelivery_factor: float | None = None,
        on_chunk: Callable[[int], None] | None = None,
    ) -> LoadResult: ...

    def window_checksum(self) -> str: ...

    def spend_month_to_date(self, day: dt.date) -> tuple[dt.date | None, int]: ...


class TargetingStore(Protocol):
    """Key judgements and the targeting snapshots derived from them."""

    def judgement_records(self) -> list[StoredJudgement]: ...

    def upsert_judgements(self, rows: Sequence[dict[str, Any]]) -> None: ...

    def store_snapshot(
        self, on: dt.date, next_snapshot: Callable[[StoredSnapshot | None], dict[str, Any] | None]
    ) -> tuple[int | None, bool]: ...

    def latest_targeting_document(self, on: dt.date | None = None) -> dict[str, Any] | None: ...

    def effective_targeting(self, on: dt.date | None = None) -> tuple[int, dict[str, Any]] | None: ...

    def targeting_document(self, snapshot_id: int) -> dict[str, Any] | None: ...


class ImpactQueries(Protocol):
    """What the impact report, page and partner export read; partner-reported outcomes."""

    def traffic_by(
        self, period: Period, part: Slice, by: Sequence[str] = ()
    ) -> dict[tuple[Any, ...], Traffic]: ...

    def signposting_by(
        self, period: Period, part: Slice, by: Sequence[str] = ("organisation",)
    ) -> dict[tuple[Any, ...], int]: ...

    def reach_figures(self, period: Period, part: Slice, per_country: bool = False) -> list[ReachFigure]: ...

    def reach_windows(self) -> list[tuple[dt.date, dt.date]]: ...

    def replace_outcomes(self, source_name: str, rows: Sequence[Mapping[str, Any]]) -> int: ...

    def outcomes_by(
        self, period: Period, part: Slice, by: Sequence[str] = ()
    ) -> dict[tuple[Any, ...], int]: ...

    def judgement_rows(self) -> list[dict[str, Any]]: ...

    def snapshot_rows(self) -> list[dict[str, Any]]: ...

    def plan_rows(self) -> list[dict[str, Any]]: ...

    def first_performance_date(self) -> dt.date | None: ...

    def daily_rows_by_platform(self) -> dict[str, tuple[int, dt.date, dt.date]]: ...

    def last_performance_date(self) -> dt.date | None: ...


class CreativeVersionStore(Protocol):
    """Rendered creative versions (insert-if-new on the content hash)."""

    def insert_new_versions(self, records: Sequence[dict[str, Any]]) -> tuple[int, int]: ...

    def count_versions(self) -> int: ...

    def newest_versions(self) -> list[dict[str, Any]]: ...


class ReferenceStore(Protocol):
    """The reference dimensions: countries, languages, platforms, organisations."""

    def upsert_reference(
        self,
        countries: Sequence[dict[str, Any]],
        languages: Sequence[dict[str, Any]],
        platforms: Sequence[dict[str, Any]],
        organisations: Sequence[dict[str, Any]],
    ) -> None: ...


class Warehouse(Protocol):
    """The warehouse as the services see it: its stores, and the housekeeping a task does once."""

    @property
    def push(self) -> PushStore: ...

    @property
    def performance(self) -> PerformanceStore: ...

    @property
    def targeting(self) -> TargetingStore: ...

    @property
    def impact(self) -> ImpactQueries: ...

    @property
    def creative_versions(self) -> CreativeVersionStore: ...

    @property
    def reference(self) -> ReferenceStore: ...

    @property
    def safe_url(self) -> str: ...

    def migrate(self) -> None: ...

    def current_revision(self) -> str | None: ...

    def dispose(self) -> None: ...
