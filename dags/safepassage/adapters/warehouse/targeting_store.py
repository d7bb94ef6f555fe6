"""The judgement store and targeting snapshots in the warehouse (the SQL behind services.intelligence)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safepassage.adapters.warehouse.engine import Warehouse, upsert
from safepassage.adapters.warehouse.models import KeyJudgementRecord, TargetingSnapshot


def judgement_records(warehouse: Warehouse) -> list[KeyJudgementRecord]:
    """Every stored judgement, oldest validity first."""
    with warehouse.session() as session:
        return list(session.scalars(select(KeyJudgementRecord).order_by(KeyJudgementRecord.valid_from)))


def upsert_judgements(warehouse: Warehouse, rows: Sequence[dict[str, Any]]) -> None:
    """A new version of a judgement id replaces the old one."""
    with warehouse.session() as session:
        upsert(session, KeyJudgementRecord, rows, key=["id"])


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


def latest_targeting_document(warehouse: Warehouse, on: dt.date | None = None) -> dict[str, Any] | None:
    found = effective_targeting(warehouse, on)
    return found[1] if found else None


def effective_targeting(warehouse: Warehouse, on: dt.date | None = None) -> tuple[int, dict[str, Any]] | None:
    """(snapshot id, targeting document) in effect (on `on`, if given)."""
    with warehouse.session() as session:
        latest = latest_snapshot(session, on)
        return (latest.id, dict(latest.targeting)) if latest else None


def targeting_document(warehouse: Warehouse, snapshot_id: int) -> dict[str, Any] | None:
    with warehouse.session() as session:
        row = session.get(TargetingSnapshot, snapshot_id)
        return dict(row.targeting) if row else None
