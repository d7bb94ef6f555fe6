"""Creative versions in the warehouse: insert-if-new on the content hash (never update a version)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from safepassage.adapters.warehouse.engine import Database, upsert
from safepassage.adapters.warehouse.models import CreativeVersion


class SqlCreativeVersions:
    """Rendered creative versions, insert-if-new (services.ports.CreativeVersionStore)."""

    def __init__(self, warehouse: Database) -> None:
        self._warehouse = warehouse

    def insert_new_versions(self, records: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Store records whose content_hash is new, in one transaction. Returns (new, already stored)."""
        hashes = {record["content_hash"] for record in records}
        with self._warehouse.session() as session:
            existing = set(
                session.scalars(
                    select(CreativeVersion.content_hash).where(CreativeVersion.content_hash.in_(hashes))
                )
            )
            upsert(session, CreativeVersion, list(records), key=["content_hash"], update=[])
        return len(hashes - existing), len(existing)

    def count_versions(self) -> int:
        with self._warehouse.session() as session:
            return int(session.scalar(select(func.count()).select_from(CreativeVersion)) or 0)

    def newest_versions(self) -> list[dict[str, Any]]:
        """The newest stored version of each theme × platform × country × language, as stored."""
        with self._warehouse.session() as session:
            newest = select(func.max(CreativeVersion.id)).group_by(
                CreativeVersion.theme,
                CreativeVersion.platform_code,
                CreativeVersion.country_code,
                CreativeVersion.language_code,
            )
            rows = session.scalars(select(CreativeVersion).where(CreativeVersion.id.in_(newest))).all()
            return [
                {
                    "content_hash": row.content_hash,
                    "theme": row.theme,
                    "platform_code": row.platform_code,
                    "country_code": row.country_code,
                    "language_code": row.language_code,
                    "template_id": row.template_id,
                    "content": dict(row.content),
                }
                for row in rows
            ]
