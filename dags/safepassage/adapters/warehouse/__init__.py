"""The warehouse: SQLite by default, PostgreSQL in production (the `safepassage_warehouse` Connection)."""

from safepassage.adapters.warehouse.engine import Warehouse, upsert, url_from_parts

__all__ = ["Warehouse", "upsert", "url_from_parts"]
