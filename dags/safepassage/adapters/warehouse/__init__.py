"""The warehouse: SQLite by default, PostgreSQL in production (the `safepassage_warehouse` Connection).

`Warehouse` is the one object the services receive (typed by `services.ports.Warehouse`): the database
and, as attributes, one store per part of the schema. Only this package writes SQL."""

from __future__ import annotations

from functools import cached_property

from safepassage.adapters.warehouse.creative_versions import SqlCreativeVersions
from safepassage.adapters.warehouse.engine import Database, upsert, url_from_parts
from safepassage.adapters.warehouse.impact_queries import SqlImpactQueries
from safepassage.adapters.warehouse.performance_store import SqlPerformanceStore
from safepassage.adapters.warehouse.push_store import SqlPushStore
from safepassage.adapters.warehouse.reference_store import SqlReferenceStore
from safepassage.adapters.warehouse.targeting_store import SqlTargetingStore


class Warehouse(Database):
    """The database with its stores: `warehouse.push.load_plan(7)`, `warehouse.impact.reach_windows()`."""

    @cached_property
    def push(self) -> SqlPushStore:
        return SqlPushStore(self)

    @cached_property
    def performance(self) -> SqlPerformanceStore:
        return SqlPerformanceStore(self)

    @cached_property
    def targeting(self) -> SqlTargetingStore:
        return SqlTargetingStore(self)

    @cached_property
    def impact(self) -> SqlImpactQueries:
        return SqlImpactQueries(self)

    @cached_property
    def creative_versions(self) -> SqlCreativeVersions:
        return SqlCreativeVersions(self)

    @cached_property
    def reference(self) -> SqlReferenceStore:
        return SqlReferenceStore(self)


__all__ = [
    "Database",
    "SqlCreativeVersions",
    "SqlImpactQueries",
    "SqlPerformanceStore",
    "SqlPushStore",
    "SqlReferenceStore",
    "SqlTargetingStore",
    "Warehouse",
    "upsert",
    "url_from_parts",
]
