"""The warehouse: SQLite by default, PostgreSQL in production (`SAFEPASSAGE_WAREHOUSE_URL`)."""

from safepassage.adapters.warehouse.engine import Warehouse, upsert

__all__ = ["Warehouse", "upsert"]
