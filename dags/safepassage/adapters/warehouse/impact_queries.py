"""The SQL behind impact figures (services.impact): additive facts summed in the database, reach
read as the platforms reported it, partner-reported outcomes, and the decisions behind the campaign.

Every query takes an inclusive period and a Slice; grouping dimensions are named, never free SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, select

from safepassage.adapters.warehouse.engine import Database, upsert
from safepassage.adapters.warehouse.models import (
    Account,
    Campaign,
    DailyPerformance,
    DailySignposting,
    KeyJudgementRecord,
    PartnerOutcome,
    PeriodReach,
    PushPlan,
    TargetingSnapshot,
)
from safepassage.domain.impact import Period, ReachFigure, Slice, Traffic

FactModel = type[DailyPerformance] | type[DailySignposting]


def _dimension(fact: FactModel, name: str) -> ColumnElement[Any]:
    columns: dict[str, Any] = {
        "date": fact.date,
        "country": fact.country_code,
        "language": fact.language_code,
        "platform": fact.platform_code,
        "placement": fact.placement,
        "device": fact.device,
        "theme": func.coalesce(Campaign.theme, "unknown"),
    }
    if fact is DailySignposting:
        columns["organisation"] = DailySignposting.organisation_id
    try:
        return columns[name].label(name)
    except KeyError:
        raise ValueError(
            f"cannot group {fact.__tablename__} by {name!r} (one of {', '.join(columns)})"
        ) from None


def _where(query: Select[Any], fact: FactModel, period: Period, part: Slice) -> Select[Any]:
    query = query.join(Campaign, Campaign.id == fact.campaign_id).where(
        fact.date.between(period.start, period.end)
    )
    for values, column in (
        (part.countries, fact.country_code),
        (part.languages, fact.language_code),
        (part.platforms, fact.platform_code),
        (part.placements, fact.placement),
        (part.devices, fact.device),
        (part.themes, Campaign.theme),
    ):
        if values:
            query = query.where(column.in_(values))
    if part.organisations:
        if fact is DailySignposting:
            query = query.where(DailySignposting.organisation_id.in_(part.organisations))
        else:  # traffic of the ads that signposted to these organisations
            ads = select(DailySignposting.ad_id).where(
                DailySignposting.organisation_id.in_(part.organisations)
            )
            query = query.where(fact.ad_id.in_(ads))
    return query


# --- partner-reported outcomes ------------------------------------------------------------------


OUTCOME_CELL = ("organisation_id", "country_code", "month")


class SqlImpactQueries:
    """What the impact report and page read, and partner outcomes (services.ports.ImpactQueries)."""

    def __init__(self, warehouse: Database) -> None:
        self._warehouse = warehouse

    def traffic_by(
        self, period: Period, part: Slice, by: Sequence[str] = ()
    ) -> dict[tuple[Any, ...], Traffic]:
        """Summed performance facts per combination of the `by` dimensions (one key () without `by`)."""
        fact = DailyPerformance
        keys = [_dimension(fact, name) for name in by]
        query = select(
            *keys,
            Account.currency,
            func.sum(fact.impressions),
            func.sum(fact.clicks),
            func.sum(fact.signposting_clicks),
            func.sum(fact.app_download_clicks),
            func.sum(fact.cost_minor),
        ).select_from(fact)
        query = _where(query, fact, period, part).join(Account, Account.id == fact.account_id)
        query = query.group_by(*keys, Account.currency)
        found: dict[tuple[Any, ...], Traffic] = {}
        with self._warehouse.session() as session:
            for row in session.execute(query):
                key = tuple(row[: len(keys)])
                currency, impressions, clicks, signposting, app, cost = row[len(keys) :]
                traffic = Traffic(
                    int(impressions), int(clicks), int(signposting), int(app), {currency: int(cost)}
                )
                found[key] = found[key] + traffic if key in found else traffic
        return found

    def signposting_by(
        self, period: Period, part: Slice, by: Sequence[str] = ("organisation",)
    ) -> dict[tuple[Any, ...], int]:
        """Signposting clicks per organisation (and any other `by` dimensions)."""
        fact = DailySignposting
        keys = [_dimension(fact, name) for name in by]
        query = _where(select(*keys, func.sum(fact.clicks)).select_from(fact), fact, period, part).group_by(
            *keys
        )
        with self._warehouse.session() as session:
            return {tuple(row[:-1]): int(row[-1]) for row in session.execute(query)}

    def reach_figures(self, period: Period, part: Slice, per_country: bool = False) -> list[ReachFigure]:
        """The platform-reported unique reach for exactly this window: per account (or, where an account
        has none, per campaign), per country when the slice names countries (or `per_country`), else
        for ALL countries."""
        query = (
            select(PeriodReach, Account.external_id)
            .join(Account, Account.id == PeriodReach.account_id)
            .where(PeriodReach.window_start == period.start, PeriodReach.window_end == period.end)
        )
        if part.platforms:
            query = query.where(PeriodReach.platform_code.in_(part.platforms))
        if part.countries:
            query = query.where(PeriodReach.country_code.in_(part.countries))
        elif per_country:
            query = query.where(PeriodReach.country_code != "ALL")
        else:
            query = query.where(PeriodReach.country_code == "ALL")
        with self._warehouse.session() as session:
            rows = [(reach, account) for reach, account in session.execute(query)]
        with_account_scope = {(r.account_id, r.country_code) for r, _ in rows if r.scope_level == "account"}
        return sorted(
            (
                ReachFigure(r.platform_code, account, r.scope_level, r.country_code, int(r.reach))
                for r, account in rows
                if r.scope_level == "account" or (r.account_id, r.country_code) not in with_account_scope
            ),
            key=lambda f: (f.platform, f.account, f.country, f.scope),
        )

    def reach_windows(self) -> list[tuple[dt.date, dt.date]]:
        """Every window some platform reported reach for (newest first): what a period can match."""
        query = (
            select(PeriodReach.window_start, PeriodReach.window_end)
            .distinct()
            .order_by(PeriodReach.window_end.desc(), PeriodReach.window_start)
        )
        with self._warehouse.session() as session:
            return [(start, end) for start, end in session.execute(query)]

    def replace_outcomes(self, source_name: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Make the table hold exactly `rows` for this source file (one transaction: all or nothing).

        Only cells that changed are written (and stamped `loaded_at`): reloading an unchanged file leaves
        the table byte-identical, and `loaded_at` says when a partner's figure last changed."""
        wanted = {
            tuple(row[name] for name in OUTCOME_CELL): {**row, "source_name": source_name} for row in rows
        }
        with self._warehouse.session() as session:
            held = {
                tuple(getattr(outcome, name) for name in OUTCOME_CELL): outcome
                for outcome in session.scalars(
                    select(PartnerOutcome).where(PartnerOutcome.source_name == source_name)
                )
            }
            gone = [outcome.id for cell, outcome in held.items() if cell not in wanted]
            if gone:
                session.execute(delete(PartnerOutcome).where(PartnerOutcome.id.in_(gone)))
            now = dt.datetime.now(dt.UTC)
            changed = [
                {**row, "loaded_at": now}
                for cell, row in wanted.items()
                if cell not in held or any(getattr(held[cell], name) != value for name, value in row.items())
            ]
            upsert(session, PartnerOutcome, changed, key=OUTCOME_CELL)
        return len(rows)

    def outcomes_by(self, period: Period, part: Slice, by: Sequence[str] = ()) -> dict[tuple[Any, ...], int]:
        """People signposted to safety (partner-reported) in the months the period touches."""
        columns = {
            "organisation": PartnerOutcome.organisation_id,
            "country": PartnerOutcome.country_code,
            "month": PartnerOutcome.month,
            "basis": PartnerOutcome.basis,
        }
        keys = [columns[name].label(name) for name in by]
        query = select(*keys, func.sum(PartnerOutcome.people_signposted_to_safety)).where(
            PartnerOutcome.month.between(period.start.replace(day=1), period.end)
        )
        if part.countries:
            query = query.where(PartnerOutcome.country_code.in_(part.countries))
        if part.organisations:
            query = query.where(PartnerOutcome.organisation_id.in_(part.organisations))
        query = query.group_by(*keys)
        with self._warehouse.session() as session:
            return {tuple(row[:-1]): int(row[-1] or 0) for row in session.execute(query)}

    # --- what was decided, when, by whom ------------------------------------------------------------

    def judgement_rows(self) -> list[dict[str, Any]]:
        query = select(KeyJudgementRecord).order_by(KeyJudgementRecord.valid_from)
        with self._warehouse.session() as session:
            return [
                {
                    "id": r.id,
                    "issued": r.issued,
                    "valid_from": r.valid_from,
                    "valid_until": r.valid_until,
                    "published_at": r.published_at,
                    "document": dict(r.document),
                }
                for r in session.scalars(query)
            ]

    def snapshot_rows(self) -> list[dict[str, Any]]:
        query = select(TargetingSnapshot).order_by(TargetingSnapshot.id)
        with self._warehouse.session() as session:
            return [
                {
                    "id": r.id,
                    "judgement_id": r.judgement_id,
                    "valid_from": r.valid_from,
                    "created_at": r.created_at,
                    "diff": dict(r.diff_from_previous or {}),
                }
                for r in session.scalars(query)
            ]

    def plan_rows(self) -> list[dict[str, Any]]:
        query = select(PushPlan).order_by(PushPlan.id)
        with self._warehouse.session() as session:
            return [
                {
                    "id": r.id,
                    "platform": r.platform_code,
                    "status": r.status,
                    "counts": dict((r.summary or {}).get("counts", {})),
                    "approval_reasons": [reason.get("message", "") for reason in r.approval_reasons or []],
                    "decided_by": r.decided_by,
                    "decision_note": r.decision_note,
                    "created_at": r.created_at,
                    "decided_at": r.decided_at,
                }
                for r in session.scalars(query)
            ]

    def first_performance_date(self) -> dt.date | None:
        """The first day any platform delivered (where "campaign to date" starts)."""
        with self._warehouse.session() as session:
            return session.scalar(select(func.min(DailyPerformance.date)))

    def daily_rows_by_platform(self) -> dict[str, tuple[int, dt.date, dt.date]]:
        """Per platform: how many daily rows the warehouse holds, and their first and last day."""
        query = select(
            DailyPerformance.platform_code,
            func.count(),
            func.min(DailyPerformance.date),
            func.max(DailyPerformance.date),
        ).group_by(DailyPerformance.platform_code)
        with self._warehouse.session() as session:
            return {str(code): (int(n), first, last) for code, n, first, last in session.execute(query)}

    def last_performance_date(self) -> dt.date | None:
        """The last day pulled (where "campaign to date" ends)."""
        with self._warehouse.session() as session:
            return session.scalar(select(func.max(DailyPerformance.date)))
