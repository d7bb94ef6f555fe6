"""Creative versions in the warehouse: insert-if-new on the content hash (never update a version)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from safepassage.adapters.warehouse.engine import Warehouse, upsert
from safepassage.adapters.warehouse.models import CreativeVersion


def insert_new_versions(warehouse: Warehouse, records: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Store records whose content_hash is new, in one transaction. Returns (new, already stored)."""
    hashes = {record["content_hash"] for record in records}
    with warehouse.session() as session:
        existing = set(
            session.scalars(
                select(CreativeVersion.content_hash).where(CreativeVersion.content_hash.in_(hashes))
            )
        )
        upsert(session, CreativeVersion, list(records), key=["content_hash"], update=[])
    return len(hashes - existing), len(existing)


def count_versions(warehouse: Warehouse) -> int:
    with warehouse.session() as session:
        return int(session.scalar(select(func.count()).select_from(CreativeVersion)) or 0)
