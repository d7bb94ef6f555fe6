"""The package's LocalAirflow for one test: a temp AIRFLOW_HOME holding only the DAG files the test
names, its own PostgreSQL metadata database (dropped afterwards), everyone admin, no UI plugin.
`executor="CeleryExecutor"` runs it in the production shape (LocalAirflow: Celery workers)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from safepassage_dev.local_airflow import COMPONENTS, LocalAirflow, free_port, wait_for

__all__ = ["COMPONENTS", "AirflowCluster", "free_port", "wait_for"]

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"


class AirflowCluster(LocalAirflow):
    def __init__(
        self,
        home: Path,
        dag_files: list[Path],
        extra_env: dict[str, str],
        executor: str = "LocalExecutor",
        celery_workers: int = 2,
        setup: tuple[tuple[str, ...], ...] = (),
    ):
        self.database = f"sp_airflow_{uuid.uuid4().hex[:12]}"
        super().__init__(
            home,
            metadata_url=f"{POSTGRES}/{self.database}",
            dags_folder=home / "dags",
            extra_env={"AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"), **extra_env},
            executor=executor,
            celery_workers=celery_workers,
            setup=setup,
            name=self.database,
        )
        self.dag_files = dag_files

    def start(self, timeout: float = 240, components: tuple[str, ...] | None = None) -> None:
        self.dags.mkdir(parents=True, exist_ok=True)
        for dag_file in self.dag_files:
            shutil.copy(dag_file, self.dags / dag_file.name)
        admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.database}"'))
        admin.dispose()
        if components is None:
            super().start(timeout)
        else:
            super().start(timeout, components)

    def stop(self, grace: float = 20) -> None:
        super().stop(grace)
        admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        admin.dispose()

    def assert_listens_on_loopback_only(self) -> list[tuple[str, str, int]]:
        """Every component (and child process) listens on loopback only; the API server among them."""
        from tests.reliability.loopback import listening_addresses, not_on_loopback

        listening = listening_addresses(*(process.pid for process in self.processes.values()))
        assert any(port == self.port for _, _, port in listening), listening
        assert not_on_loopback(listening) == [], listening
        return listening

    # --- reading the metadata database ----------------------------------------------------------

    def query(self, sql: str, **params: Any) -> list[Any]:
        engine = getattr(self, "_engine", None)
        if engine is None:
            engine = self._engine = create_engine(self.metadata_url, pool_size=1)
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params).mappings())

    def dispose(self) -> None:
        engine = getattr(self, "_engine", None)
        if engine is not None:
            engine.dispose()
