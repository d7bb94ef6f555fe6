"""Engine, migrations and sessions for the warehouse."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from safepassage import settings

MIGRATIONS = Path(__file__).with_name("migrations")
_DRIVERS = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg", "sqlite": "sqlite"}


def url_from_parts(
    conn_type: str | None,
    host: str | None,
    port: int | None,
    login: str | None,
    password: str | None,
    database: str | None,
) -> str:
    """A SQLAlchemy URL from an Airflow Connection (`postgres`, or `sqlite` with the file as host)."""
    driver = _DRIVERS.get((conn_type or "").lower())
    if driver is None:
        raise ValueError(f"conn type {conn_type!r} is not a warehouse database (use postgres or sqlite)")
    if driver == "sqlite":
        return f"sqlite:///{host or database or ''}"
    url = URL.create(driver, username=login or None, password=password or None, host=host or None,
                     port=port or None, database=database or None)  # fmt: skip
    return url.render_as_string(hide_password=False)


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


SQLITE_BUSY_TIMEOUT_MS = 15 * 60 * 1000


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # SQLite has one writer at a time: a task waits its turn behind a long load (a 7-month backfill
    # holds the write lock for minutes) instead of failing with "database is locked".
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


class Database:
    """One warehouse database: its engine, migrations and transactions. Construct once per process/task
    and reuse its engine; `Warehouse` adds the stores the services use."""

    def __init__(self, url: str | None = None):
        self.url = url or settings.warehouse_url()
        parsed = make_url(self.url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(self.url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _enable_sqlite_foreign_keys)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        with self.engine.begin() as connection:
            config = _alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any error (no partial write)."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def upsert(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert rows, or replace the non-key columns of rows whose natural `key` already exists."""
    if not rows:
        return
    table = model.__table__
    dialect = session.get_bind().dialect.name
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"upsert is not implemented for {dialect}")
    columns = update if update is not None else [name for name in rows[0] if name not in key]
    batch_size = max(1, 30_000 // max(1, len(rows[0])))  # stay under bind-parameter limits
    for start in range(0, len(rows), batch_size):
        statement = insert(table).values(list(rows[start : start + batch_size]))
        excluded = statement.excluded
        statement = (
            statement.on_conflict_do_update(index_elements=list(key), set_={c: excluded[c] for c in columns})
            if columns
            else statement.on_conflict_do_nothing(index_elements=list(key))
        )
        session.execute(statement)
