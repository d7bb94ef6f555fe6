"""Load pulled performance into the warehouse: replace one account's window in one transaction.

A load (1) takes a per-account lock (PostgreSQL advisory transaction lock; SQLite's single writer),
(2) upserts the campaign tree into the dimensions, (3) streams the new rows in chunks into a
temporary, index-free staging table (PostgreSQL: `COPY … FROM STDIN`; SQLite: `executemany`
batches) and refuses duplicate keys, (4) deletes the window's rows the stage no longer holds and
inserts the staged rows the window lacks, so an unchanged window writes nothing, (5) derives the
per-organisation signposting rows from the ads' link attribution the same way, (6) replaces the
window's period reach, (7) runs the data-quality checks, and only then commits. A re-run, a retried
task or a concurrent run of the same window therefore leaves the warehouse identical (byte for
byte: ids and all), and a failed check leaves it as it was.

Rows are never collected: memory stays flat (one chunk) however many rows a pull returns. The stage
costs a second write of every row; it is what lets a re-load leave unchanged rows untouched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from safepassage.adapters.warehouse.engine import Database, upsert
from safepassage.adapters.warehouse.models import (
    PERFORMANCE_GRAIN,
    REACH_GRAIN,
    Account,
    Ad,
    AdGroup,
    BudgetAllocation,
    BudgetAllocationLine,
    Campaign,
    Country,
    DailyPerformance,
    DailySignposting,
    Language,
    PeriodReach,
    SupportOrganisation,
)
from safepassage.domain.performance import (
    AccountTree,
    LoadResult,
    PulledRow,
    QualityCheckFailed,
    QualityFinding,
    ReachRow,
    Window,
    overspend,
    totals_mismatch,
)

CHUNK_ROWS = 10_000
FACT_COLUMNS = (
    *PERFORMANCE_GRAIN,
    "impressions",
    "clicks",
    "cost_minor",
    "signposting_clicks",
    "app_download_clicks",
)
TOTAL_METRICS = ("impressions", "clicks", "cost_minor")


def lock_key(platform: str, account_external_id: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory lock on one account's performance."""
    digest = hashlib.sha256(f"performance:{platform}:{account_external_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# --- dimensions ---------------------------------------------------------------------------------------


@dataclass
class _Ids:
    account_id: int
    ads: dict[str, tuple[int, int, int, str]]  # ad external id -> (campaign, ad group, ad, destination)
    countries: frozenset[str]
    languages: frozenset[str]


def _upsert_tree(session: Session, tree: AccountTree) -> _Ids:
    upsert(
        session,
        Account,
        [
            {
                "platform_code": tree.platform,
                "external_id": tree.external_id,
                "name": tree.name,
                "currency": tree.currency,
            }
        ],
        key=["platform_code", "external_id"],
    )
    account_id = session.scalar(
        select(Account.id).where(
            Account.platform_code == tree.platform, Account.external_id == tree.external_id
        )
    )
    assert account_id is not None
    countries = frozenset(session.scalars(select(Country.code)))
    languages = frozenset(session.scalars(select(Language.code)))
    organisations = frozenset(session.scalars(select(SupportOrganisation.id)))
    now = dt.datetime.now(dt.UTC)
    upsert(
        session,
        Campaign,
        [
            {
                "account_id": account_id,
                "external_id": c.external_id,
                "name": c.name[:255],
                "status": c.status[:16],
                "country_code": c.country_code if c.country_code in countries else None,
                "theme": c.theme,
                "last_seen_at": now,
            }
            for c in tree.campaigns
        ],
        key=["account_id", "external_id"],
    )
    campaign_ids = dict(
        session.execute(select(Campaign.external_id, Campaign.id).where(Campaign.account_id == account_id))
        .tuples()
        .all()
    )
    upsert(
        session,
        AdGroup,
        [
            {
                "campaign_id": campaign_ids[g.campaign_external_id],
                "external_id": g.external_id,
                "name": g.name[:255],
                "status": g.status[:16],
                "language_code": g.language_code if g.language_code in languages else None,
            }
            for g in tree.ad_groups
            if g.campaign_external_id in campaign_ids
        ],
        key=["campaign_id", "external_id"],
    )
    group_rows = (
        session.execute(
            select(AdGroup.external_id, AdGroup.id, AdGroup.campaign_id)
            .join(Campaign, AdGroup.campaign_id == Campaign.id)
            .where(Campaign.account_id == account_id)
        )
        .tuples()
        .all()
    )
    groups = {external: (group_id, campaign_id) for external, group_id, campaign_id in group_rows}
    upsert(
        session,
        Ad,
        [
            {
                "ad_group_id": groups[a.ad_group_external_id][0],
                "external_id": a.external_id,
                "name": a.name[:255],
                "status": a.status[:16],
                "final_url": (a.final_url or "")[:2000] or None,
                "link_destination": a.link_destination,
                "organisation_id": a.organisation_id if a.organisation_id in organisations else None,
                "theme": a.theme,
            }
            for a in tree.ads
            if a.ad_group_external_id in groups
        ],
        key=["ad_group_id", "external_id"],
    )
    ads: dict[str, tuple[int, int, int, str]] = {}
    ad_rows = (
        session.execute(
            select(Ad.external_id, Ad.id, Ad.ad_group_id, Ad.link_destination, Ad.organisation_id)
            .join(AdGroup, Ad.ad_group_id == AdGroup.id)
            .join(Campaign, AdGroup.campaign_id == Campaign.id)
            .where(Campaign.account_id == account_id)
        )
        .tuples()
        .all()
    )
    campaign_of_group = {group_id: campaign_id for group_id, campaign_id in groups.values()}
    for external, ad_id, group_id, destination, organisation in ad_rows:
        signposts = destination if destination != "organisation" or organisation else "other"
        ads[external] = (campaign_of_group[group_id], group_id, ad_id, signposts or "other")
    return _Ids(account_id, ads, countries, languages)


# --- facts ----------------------------------------------------------------------------------------------


class _Problems:
    """Offending rows seen while streaming (kept to a few for the message)."""

    def __init__(self) -> None:
        self.findings: dict[str, list[str]] = {}

    def add(self, check: str, row: str) -> None:
        found = self.findings.setdefault(check, [])
        if len(found) < 50:
            found.append(row)

    def raise_if_any(self) -> None:
        if self.findings:
            raise QualityCheckFailed(
                QualityFinding(check, tuple(rows)) for check, rows in self.findings.items()
            )


def _fact_tuples(
    rows: Iterable[PulledRow], platform: str, ids: _Ids, window: Window, problems: _Problems
) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        ad = ids.ads.get(row.ad_external_id)
        cell = f"{row.country_code}/{row.language_code}/{row.device}/{row.placement}"
        where = f"{row.date} ad {row.ad_external_id} {cell}"
        if ad is None:
            problems.add("row for an ad the platform did not list", where)
            continue
        if not window.start <= row.date <= window.end:
            problems.add("row outside the pulled window", where)
            continue
        if row.country_code not in ids.countries or row.language_code not in ids.languages:
            problems.add("unknown country or language", where)
            continue
        if row.impressions < 0 or row.clicks < 0 or row.cost_minor < 0:
            problems.add(
                "negative metric",
                f"{where}: impressions={row.impressions} clicks={row.clicks} cost_minor={row.cost_minor}",
            )
            continue
        campaign_id, group_id, ad_id, destination = ad
        link_clicks = row.clicks if row.link_clicks is None else row.link_clicks
        yield (
            row.date,
            platform,
            ids.account_id,
            campaign_id,
            group_id,
            ad_id,
            row.country_code,
            row.language_code,
            row.device,
            row.placement,
            row.impressions,
            row.clicks,
            row.cost_minor,
            link_clicks if destination == "organisation" else 0,
            link_clicks if destination == "app" else 0,
        )


def _chunks(items: Iterable[tuple[Any, ...]], size: int = CHUNK_ROWS) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def copy_text(chunk: Sequence[tuple[Any, ...]]) -> bytes:
    """Rows in COPY's text format. Values are dates, integers and short codes chosen by the pull (no
    tabs, newlines or backslashes), so no escaping is needed."""
    return "".join("\t".join(map(str, row)) + "\n" for row in chunk).encode()


STAGE = "performance_stage"
_STAGE_TYPES = {
    "date": "DATE",
    "account_id": "INTEGER",
    "campaign_id": "INTEGER",
    "ad_group_id": "INTEGER",
    "ad_id": "INTEGER",
}
_METRICS = FACT_COLUMNS[len(PERFORMANCE_GRAIN) :]


def _stage(
    session: Session, dialect: str, rows: Iterable[tuple[Any, ...]], on_chunk: Callable[[int], None] | None
) -> int:
    """Bulk-load the rows into a temporary, index-free staging table (COPY on PostgreSQL)."""
    columns = ", ".join(
        f"{name} {_STAGE_TYPES.get(name, 'BIGINT' if name in _METRICS else 'VARCHAR(64)')} NOT NULL"
        for name in FACT_COLUMNS
    )
    driver: Any = session.connection().connection.driver_connection
    count = 0
    if dialect == "postgresql":
        session.execute(text(f"CREATE TEMPORARY TABLE {STAGE} ({columns}) ON COMMIT DROP"))
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {STAGE} ({', '.join(FACT_COLUMNS)}) FROM STDIN") as copy,
        ):
            for chunk in _chunks(rows):
                copy.write(copy_text(chunk))
                count += len(chunk)
                if on_chunk:
                    on_chunk(count)
        session.execute(text(f"ANALYZE {STAGE}"))  # so the merge below hashes rather than loops
        return count
    session.execute(text(f"DROP TABLE IF EXISTS temp.{STAGE}"))
    session.execute(text(f"CREATE TEMPORARY TABLE {STAGE} ({columns})"))
    cursor = driver.cursor()
    statement = (
        f"INSERT INTO {STAGE} ({', '.join(FACT_COLUMNS)}) VALUES ({', '.join('?' for _ in FACT_COLUMNS)})"
    )
    try:
        for chunk in _chunks(rows):
            cursor.executemany(statement, [(row[0].isoformat(), *row[1:]) for row in chunk])
            count += len(chunk)
            if on_chunk:
                on_chunk(count)
    finally:
        cursor.close()
    session.execute(text(f"CREATE INDEX temp.ix_{STAGE}_grain ON {STAGE} ({', '.join(PERFORMANCE_GRAIN)})"))
    return count


def _staged_duplicates(session: Session) -> tuple[str, ...]:
    grain = ", ".join(PERFORMANCE_GRAIN)
    found = session.execute(
        text(f"SELECT {grain}, count(*) FROM {STAGE} GROUP BY {grain} HAVING count(*) > 1 LIMIT 20")
    ).all()
    return tuple(
        ", ".join(f"{name}={value}" for name, value in zip(PERFORMANCE_GRAIN, row, strict=False))
        + f" ×{row[-1]}"
        for row in found
    )


def _merge(session: Session, dialect: str, platform: str, account_id: int, window: Window) -> None:
    """Make the window equal to the staged rows, writing only what differs: rows whose key or figures
    changed are deleted, staged rows missing afterwards are inserted. Re-loading identical data writes
    nothing (a delete-then-insert of the same keys would rewrite every row and its index entries)."""
    fact, signposting = DailyPerformance.__tablename__, DailySignposting.__tablename__
    params = {"platform": platform, "account": account_id, "start": window.start, "end": window.end}
    in_window = "t.platform_code = :platform AND t.account_id = :account AND t.date BETWEEN :start AND :end"
    same_key = " AND ".join(f"s.{c} = t.{c}" for c in PERFORMANCE_GRAIN)
    same_row = " AND ".join(f"s.{c} = t.{c}" for c in FACT_COLUMNS)
    columns = ", ".join(FACT_COLUMNS)
    if dialect == "postgresql":
        # Freshly loaded facts have no statistics yet; estimated at one row, the anti-joins would loop
        # over the whole stage per fact row. Hash joins are right at any size here.
        session.execute(text("SET LOCAL enable_nestloop = off"))
    session.execute(
        text(
            f"DELETE FROM {fact} AS t WHERE {in_window} "
            f"AND NOT EXISTS (SELECT 1 FROM {STAGE} s WHERE {same_row})"
        )
        if dialect == "postgresql"
        else text(
            f"DELETE FROM {fact} WHERE id IN (SELECT t.id FROM {fact} t WHERE {in_window} "
            f"AND NOT EXISTS (SELECT 1 FROM {STAGE} s WHERE {same_row}))"
        ),
        params,
    )
    session.execute(
        text(
            f"INSERT INTO {fact} ({columns}) "
            f"SELECT {', '.join(f's.{c}' for c in FACT_COLUMNS)} FROM {STAGE} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {fact} t WHERE {same_key})"
        )
    )
    # per-organisation clicks: the staged rows of ads whose tracked link goes to an organisation
    wanted = (
        f"SELECT {', '.join(f's.{c}' for c in PERFORMANCE_GRAIN)}, "
        "a.organisation_id, s.signposting_clicks AS clicks "
        f"FROM {STAGE} s JOIN {Ad.__tablename__} a ON a.id = s.ad_id "
        "WHERE s.signposting_clicks > 0 AND a.organisation_id IS NOT NULL"
    )
    same_signposting = f"{same_key} AND s.organisation_id = t.organisation_id"
    session.execute(
        text(
            f"DELETE FROM {signposting} WHERE id IN (SELECT t.id FROM {signposting} t WHERE {in_window} "
            f"AND NOT EXISTS (SELECT 1 FROM ({wanted}) s WHERE {same_signposting} AND s.clicks = t.clicks))"
        ),
        params,
    )
    session.execute(
        text(
            f"INSERT INTO {signposting} ({', '.join(PERFORMANCE_GRAIN)}, organisation_id, clicks) "
            f"SELECT s.* FROM ({wanted}) s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {signposting} t WHERE {same_signposting})"
        )
    )


def _count_signposting(session: Session, platform: str, account_id: int, window: Window) -> int:
    counted = select(func.count()).where(
        DailySignposting.platform_code == platform,
        DailySignposting.account_id == account_id,
        DailySignposting.date.between(window.start, window.end),
    )
    return int(session.scalar(counted) or 0)


REACH_CELL = ("scope_level", "scope_external_id", "country_code")


def _replace_reach(
    session: Session, platform: str, account_id: int, window: Window, reach: Sequence[ReachRow]
) -> int:
    """The window's reach becomes exactly `reach`: cells the platform no longer reports go, the rest
    are upserted on their natural key, so a re-pull keeps each row (and its id) in place."""
    in_window = (
        PeriodReach.platform_code == platform,
        PeriodReach.account_id == account_id,
        PeriodReach.window_start == window.start,
        PeriodReach.window_end == window.end,
    )
    retrieved_at = dt.datetime.now(dt.UTC)
    rows = [
        {
            "platform_code": platform,
            "account_id": account_id,
            "scope_level": r.scope_level,
            "scope_external_id": r.scope_external_id,
            "country_code": r.country_code,
            "window_start": window.start,
            "window_end": window.end,
            "reach": r.reach,
            "impressions": r.impressions,
            "retrieved_at": retrieved_at,
        }
        for r in reach
    ]
    wanted = {tuple(row[name] for name in REACH_CELL) for row in rows}
    held = session.execute(
        select(PeriodReach.id, *(getattr(PeriodReach, name) for name in REACH_CELL)).where(*in_window)
    )
    gone = [row[0] for row in held if tuple(row[1:]) not in wanted]
    if gone:
        session.execute(delete(PeriodReach).where(PeriodReach.id.in_(gone)))
    upsert(
        session,
        PeriodReach,
        rows,
        key=REACH_GRAIN,
    )
    return len(reach)


# --- quality inputs -----------------------------------------------------------------------------------


def _loaded_totals(
    session: Session, platform: str, account_id: int, window: Window
) -> dict[dt.date, dict[str, int]]:
    rows = session.execute(
        select(DailyPerformance.date, *(func.sum(getattr(DailyPerformance, m)) for m in TOTAL_METRICS))
        .where(
            DailyPerformance.platform_code == platform,
            DailyPerformance.account_id == account_id,
            DailyPerformance.date.between(window.start, window.end),
        )
        .group_by(DailyPerformance.date)
    ).all()
    return {
        day: {m: int(v or 0) for m, v in zip(TOTAL_METRICS, values, strict=True)} for day, *values in rows
    }


def _spend_by_day_country(session: Session, platform: str, window: Window) -> dict[tuple[dt.date, str], int]:
    rows = session.execute(
        select(DailyPerformance.date, DailyPerformance.country_code, func.sum(DailyPerformance.cost_minor))
        .where(
            DailyPerformance.platform_code == platform,
            DailyPerformance.date.between(window.start, window.end),
        )
        .group_by(DailyPerformance.date, DailyPerformance.country_code)
    ).all()
    return {(day, country): int(total or 0) for day, country, total in rows}


def pushed_budgets(
    session: Session, platform: str, window: Window, currency: str
) -> dict[tuple[dt.date, str], int]:
    """(day, country) → the daily budget allocated for the platform and in force that day: the larger of
    the newest allocation on or before the day and the one before it (a push changes it during the day)."""
    allocations = session.execute(
        select(BudgetAllocation.id, BudgetAllocation.for_date)
        .where(BudgetAllocation.for_date <= window.end, BudgetAllocation.currency == currency)
        .order_by(BudgetAllocation.for_date, BudgetAllocation.id)
    ).all()
    if not allocations:
        return {}
    lines: dict[int, dict[str, int]] = {}
    for allocation_id, country, amount in session.execute(
        select(
            BudgetAllocationLine.allocation_id,
            BudgetAllocationLine.country_code,
            BudgetAllocationLine.daily_amount_minor,
        ).where(
            BudgetAllocationLine.platform_code == platform,
            BudgetAllocationLine.allocation_id.in_([a for a, _ in allocations]),
        )
    ).tuples():
        lines.setdefault(allocation_id, {})[country] = int(amount)
    out: dict[tuple[dt.date, str], int] = {}
    for day in window.each_day():
        in_force = [a for a, for_date in allocations if for_date <= day][-2:]
        if not in_force:
            continue
        for country in {c for a in in_force for c in lines.get(a, {})}:
            out[(day, country)] = max(lines.get(a, {}).get(country, 0) for a in in_force)
    return out


class SqlPerformanceStore:
    """Daily facts and reach, replaced one account's window at a time (services.ports.PerformanceStore)."""

    def __init__(self, warehouse: Database) -> None:
        self._warehouse = warehouse

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
    ) -> LoadResult:
        """Replace `tree`'s rows for each day in `window` with `rows`, checked, in one transaction."""
        with self._warehouse.session() as session:
            dialect = session.get_bind().dialect.name
            if dialect == "postgresql":
                session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"),
                    {"key": lock_key(tree.platform, tree.external_id)},
                )
            ids = _upsert_tree(session, tree)
            account_id = ids.account_id
            problems = _Problems()
            tuples = _fact_tuples(rows, tree.platform, ids, window, problems)
            count = _stage(session, dialect, tuples, on_chunk)
            problems.raise_if_any()
            duplicates = _staged_duplicates(session)
            if duplicates:
                raise QualityCheckFailed([QualityFinding("natural key not unique", duplicates)])
            _merge(session, dialect, tree.platform, account_id, window)
            signposting = _count_signposting(session, tree.platform, account_id, window)
            reach_rows = _replace_reach(session, tree.platform, account_id, window, reach)
            findings = []
            if platform_totals is not None:
                findings.append(
                    totals_mismatch(
                        _loaded_totals(session, tree.platform, account_id, window), platform_totals
                    )
                )
            if overdelivery_factor is not None:
                spend = _spend_by_day_country(session, tree.platform, window)
                budgets = pushed_budgets(session, tree.platform, window, tree.currency)
                findings.append(overspend(spend, budgets, overdelivery_factor))
            failed = [finding for finding in findings if finding is not None]
            if failed:
                raise QualityCheckFailed(failed)  # rolls the whole load back
        return LoadResult(count, signposting, reach_rows, window)

    def window_checksum(self) -> str:
        """SHA-256 over every fact and reach row in key order (ids and load times left out)."""
        digest = hashlib.sha256()
        with self._warehouse.session() as session:
            for model, columns in (
                (DailyPerformance, FACT_COLUMNS),
                (DailySignposting, (*PERFORMANCE_GRAIN, "organisation_id", "clicks")),
                (PeriodReach, (*REACH_GRAIN, "reach", "impressions")),
            ):
                selected = [getattr(model, c) for c in columns]
                for row in session.execute(select(*selected).order_by(*selected)).yield_per(10_000):
                    digest.update(repr(tuple(row)).encode())
        return digest.hexdigest()

    def spend_month_to_date(self, day: dt.date) -> tuple[dt.date | None, int]:
        """(newest day with pulled performance up to `day`, rows in the month) — what the allocator used."""
        with self._warehouse.session() as session:
            newest = session.scalar(
                select(func.max(DailyPerformance.date)).where(DailyPerformance.date <= day)
            )
            rows = session.scalar(
                select(func.count())
                .select_from(DailyPerformance)
                .where(DailyPerformance.date >= day.replace(day=1), DailyPerformance.date <= day)
            )
        return newest, int(rows or 0)
