"""The judgement store and targeting snapshots in the warehouse (the SQL behind services.intelligence)."""

from __future__ import annotations

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


def latest_snapshot(session: Session) -> TargetingSnapshot | None:
    return session.scalars(select(TargetingSnapshot).order_by(TargetingSnapshot.id.desc()).limit(1)).first()


def insert_snapshot(session: Session, row: dict[str, Any]) -> int:
    """Insert unless a snapshot with the same content hash exists; the snapshot's id either way."""
    upsert(session, TargetingSnapshot, [row], key=["content_hash"], update=[])
    snapshot_id = session.scalar(
        select(TargetingSnapshot.id).where(TargetingSnapshot.content_hash == row["content_hash"])
    )
    assert snapshot_id is not None
    return snapshot_id


def latest_targeting_document(warehouse: Warehouse) -> dict[str, Any] | None:
    with warehouse.session() as session:
        latest = latest_snapshot(session)
        return dict(latest.targeting) if latest else None
