"""A real Airflow (scheduler, dag-processor, triggerer, api-server) for one test, torn down by process id.

Own AIRFLOW_HOME in a temp dir, own PostgreSQL metadata database, free port. Every process is
started in its own session so that it and the workers it forks are stopped together by their
process-group id: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # the thing we wait for may not be up yet
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})")


class AirflowCluster:
    def __init__(
        self,
        home: Path,
        dag_files: list[Path],
        extra_env: dict[str, str],
        components: tuple[str, ...] = COMPONENTS,
    ):
        self.home = home
        self.components = components
        self.dags = home / "dags"
        self.logs = home / "process-logs"
        self.port = free_port()
        self.database = f"sp_airflow_{uuid.uuid4().hex[:12]}"
        self.metadata_url = f"{POSTGRES}/{self.database}"
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.dag_files = dag_files
        bin_dir = Path(sys.executable).parent
        self.airflow = str(bin_dir / "airflow")
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            # psycopg 3 is async-capable; without this Airflow would look for asyncpg
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": self.metadata_url,
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            **extra_env,
        }

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 240) -> None:
        self.dags.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        for dag_file in self.dag_files:
            shutil.copy(dag_file, self.dags / dag_file.name)
        admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.database}"'))
        admin.dispose()
        subprocess.run(
            [self.airflow, "db", "migrate"],
            env=self.env,
            check=True,
            timeout=timeout,
            stdout=(self.logs / "db-migrate.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for component in self.components:
            self.processes[component] = subprocess.Popen(
                [self.airflow, component],
                env=self.env,
                stdout=(self.logs / f"{component}.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(
            "the API server",
            lambda: httpx.get(f"{self.api_url}/api/v2/monitor/health").status_code == 200,
            timeout,
        )

    def stop(self, grace: float = 20) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            # the group may outlive its leader (forked task workers): kill the group regardless
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        admin.dispose()

    def assert_running(self) -> None:
        dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        if dead:
            tails = {name: self.log_tail(name) for name in dead}
            raise AssertionError(f"Airflow components exited: {dead}\n{tails}")

    def log_tail(self, component: str, lines: int = 40) -> str:
        path = self.logs / f"{component}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

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

    def token(self) -> str:
        response = httpx.get(f"{self.api_url}/auth/token", timeout=30)
        response.raise_for_status()
        return str(response.json()["access_token"])
