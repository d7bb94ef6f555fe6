"""A stable digest of the whole warehouse: equal on SQLite and PostgreSQL for equal contents.

Every table of the schema, every column (surrogate ids and timestamps included: a re-run that
re-inserts a row or re-stamps it is a change). Values are normalised so both databases encode them
alike (naive SQLite datetimes are UTC, decimals lose trailing zeros, JSON is canonical), and rows are
sorted after encoding, so neither database's collation nor its row order matters.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select

from safepassage.adapters.warehouse.engine import Database
from safepassage.adapters.warehouse.models import Base


def _normalised(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return repr(value)
    return value


def table_rows(
    warehouse: Database, ignore: Mapping[str, Collection[str]] | None = None
) -> dict[str, list[str]]:
    """Table name -> its rows, each a canonical JSON line, sorted; `ignore` leaves columns out."""
    ignore = ignore or {}
    found: dict[str, list[str]] = {}
    with warehouse.session() as session:
        for table in sorted(Base.metadata.tables.values(), key=lambda t: t.name):
            columns = [c for c in table.columns if c.name not in ignore.get(table.name, ())]
            lines = [
                json.dumps(
                    {c.name: _normalised(v) for c, v in zip(columns, row, strict=True)},
                    sort_keys=True,
                    separators=(",", ":"),
                    default=str,
                )
                for row in session.execute(select(*columns))
            ]
            found[table.name] = sorted(lines)
    return found


def table_checksums(
    warehouse: Database, ignore: Mapping[str, Collection[str]] | None = None
) -> dict[str, str]:
    """Table name -> SHA-256 of its sorted canonical rows."""
    return {
        name: hashlib.sha256("\n".join(lines).encode()).hexdigest()
        for name, lines in table_rows(warehouse, ignore).items()
    }


def warehouse_checksum(warehouse: Database, ignore: Mapping[str, Collection[str]] | None = None) -> str:
    """One SHA-256 over every table's checksum, in table-name order."""
    digest = hashlib.sha256()
    for name, checksum in table_checksums(warehouse, ignore).items():
        digest.update(f"{name}:{checksum}\n".encode())
    return digest.hexdigest()
