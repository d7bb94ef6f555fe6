"""Reference data in the warehouse: countries, languages, platforms and support organisations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from safepassage.adapters.warehouse.engine import Database, upsert
from safepassage.adapters.warehouse.models import Country, Language, Platform, SupportOrganisation


class SqlReferenceStore:
    """The dimensions the campaign config names (services.ports.ReferenceStore)."""

    def __init__(self, warehouse: Database) -> None:
        self._warehouse = warehouse

    def upsert_reference(
        self,
        countries: Sequence[dict[str, Any]],
        languages: Sequence[dict[str, Any]],
        platforms: Sequence[dict[str, Any]],
        organisations: Sequence[dict[str, Any]],
    ) -> None:
        """Insert or update every row by its code or id, in one transaction."""
        with self._warehouse.session() as session:
            upsert(session, Country, countries, key=["code"])
            upsert(session, Language, languages, key=["code"])
            upsert(session, Platform, platforms, key=["code"])
            upsert(session, SupportOrganisation, organisations, key=["id"])
