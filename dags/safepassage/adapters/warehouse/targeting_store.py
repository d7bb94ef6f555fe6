"""The judgement store and targeting snapshots in the warehouse (the SQL behind services.intelligence)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safepassage.adapters.warehouse.engine import Database, upsert
from safepassage.adapters.warehouse.models import KeyJudgementRecord, TargetingSnapshot
from safepassage.domain.targeting import StoredJudgement, StoredSnapshot


def latest_snapshot(session: Session, on: dt.date | None = None) -> TargetingSnapshot | None:
    """The snapshot in effect (on `on`, if given): the latest effective date, then the newest row.

    Ordering by effective date first keeps a replay of a past day from becoming the live targeting.
    """
    query = select(TargetingSnapshot)
    if on is not None:
        query = query.where(TargetingSnapshot.valid_from <= on)
    return session.scalars(
        query.order_by(TargetingSnapshot.valid_from.desc(), TargetingSnapshot.id.desc()).limit(1)
    ).first()


def insert_snapshot(session: Session, row: dict[str, Any]) -> int:
    """Insert unless a snapshot with the same content hash exists; the snapshot's id either way."""
    upsert(session, TargetingSnapshot, [row], key=["content_hash"], update=[])
    snapshot_id = session.scalar(
        select(TargetingSnapshot.id).where(TargetingSnapshot.content_hash == row["content_hash"])
    )
    assert snapshot_id is not None
    return snapshot_id


class SqlTargetingStore:
    """Key judgements and targeting snapshots (services.ports.TargetingStore)."""

    def __init__(self, warehouse: Database) -> None:
        self._warehouse = warehouse

    def judgement_records(self) -> list[StoredJudgement]:
        """Every stored judgement, oldest validity first."""
        with self._warehouse.session() as session:
            return [
                StoredJudgement(record.id, record.source_name, dict(record.document))
                for record in session.scalars(
                    select(KeyJudgementRecord).order_by(KeyJudgementRecord.valid_from)
                )
            ]

    def upsert_judgements(self, rows: Sequence[dict[str, Any]]) -> None:
        """A new version of a judgement id replaces the old one."""
        with self._warehouse.session() as session:
            upsert(session, KeyJudgementRecord, rows, key=["id"])

    def store_snapshot(
        self, on: dt.date, next_snapshot: Callable[[StoredSnapshot | None], dict[str, Any] | None]
    ) -> tuple[int | None, bool]:
        """In one transaction: read the snapshot in effect on `on`, ask `next_snapshot` what follows it
        and store that (nothing when it answers None). Returns (snapshot id in effect, stored?)."""
        with self._warehouse.session() as session:
            latest = latest_snapshot(session, on)
            row = next_snapshot(
                StoredSnapshot(latest.id, latest.content_hash, dict(latest.targeting)) if latest else None
            )
            if row is None:
                return (latest.id if latest else None), False
            return insert_snapshot(session, row), True

    def latest_targeting_document(self, on: dt.date | None = None) -> dict[str, Any] | None:
        found = self.effective_targeting(on)
        return found[1] if found else None

    def effective_targeting(self, on: dt.date | None = None) -> tuple[int, dict[str, Any]] | None:
        """(snapshot id, targeting document) in effect (on `on`, if given)."""
        with self._warehouse.session() as session:
            latest = latest_snapshot(session, on)
            return (latest.id, dict(latest.targeting)) if latest else None

    def targeting_document(self, snapshot_id: int) -> dict[str, Any] | None:
        with self._warehouse.session() as session:
            row = session.get(TargetingSnapshot, snapshot_id)
            return dict(row.targeting) if row else None
