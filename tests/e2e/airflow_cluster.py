"""A real Airflow (scheduler, dag-processor, triggerer, api-server) for one test, torn down by process id.

Own AIRFLOW_HOME in a temp dir, own PostgreSQL metadata database, free ports. Every process is
started in its own session so that it and the workers it forks are stopped together by their
process-group id: SIGTERM, then SIGKILL after a grace period.

`executor="CeleryExecutor"` adds `celery_workers` Celery workers (the production shape of
docker-compose.yml) with Redis as the broker: its own database number and a key prefix unique to
the cluster, so parallel clusters never take each other's tasks.
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
import psutil
from sqlalchemy import create_engine, text

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
CELERY_WORKER = "celery-worker"  # components celery-worker-1, celery-worker-2, ...
# The Celery broker: Redis, a database number of its own (db 0 carries the judgement channel).
CELERY_BROKER_URL = os.environ.get("SAFEPASSAGE_TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")


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
        executor: str = "LocalExecutor",
        celery_workers: int = 2,
        setup: tuple[tuple[str, ...], ...] = (),
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
        self.killed: set[str] = set()
        self.executor = executor
        self.workers = (
            [f"{CELERY_WORKER}-{n}" for n in range(1, celery_workers + 1)]
            if executor == "CeleryExecutor"
            else []
        )
        self.dag_files = dag_files
        self.setup = setup  # commands run after `airflow db migrate`, before the components start
        bin_dir = Path(sys.executable).parent
        self.airflow = str(bin_dir / "airflow")
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": executor,
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
            # log servers on free ports: the defaults (8793, 8794) would collide between clusters
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            **(self.celery_env() if self.workers else {}),
            **extra_env,
        }

    def celery_env(self) -> dict[str, str]:
        return {
            "AIRFLOW__CELERY__BROKER_URL": CELERY_BROKER_URL,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{self.metadata_url}",
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": f"{self.database}:",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
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
        for command in self.setup:
            subprocess.run(
                [str(Path(sys.executable).parent / command[0]), *command[1:]],
                env=self.env,
                check=True,
                timeout=timeout,
                stdout=(self.logs / f"setup-{command[0]}.log").open("ab"),
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
        # Workers after the API server, as compose's depends_on has it: a task a worker takes sooner
        # fails to reach the Execution API and waits for a retry.
        for worker in self.workers:
            self.processes[worker] = subprocess.Popen(
                [self.airflow, "celery", "worker", "--celery-hostname", f"{worker}-{self.database}@%h"],
                # each worker serves its task logs on a port of its own
                env={**self.env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())},
                stdout=(self.logs / f"{worker}.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def descendants(self) -> list[int]:
        """Every process the components started. Airflow puts each task process in a process group of
        its own (the task supervisor calls setpgid), so killing the components' groups misses them."""
        found: list[int] = []
        for process in self.processes.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                found += [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
        return found

    def stop(self, grace: float = 20) -> None:
        stragglers = self.descendants()
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
        for pid in stragglers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        admin.dispose()

    def kill(self, component: str) -> None:
        """SIGKILL a component and every process it started (task processes included): a machine lost
        mid-task."""
        process = self.processes[component]
        self.killed.add(component)
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(process.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def component_running(self, pid: int) -> str | None:
        """The component that started `pid` (e.g. the Celery worker running a task process)."""
        leaders = {p.pid: name for name, p in self.processes.items()}
        try:
            ancestors = [pid, *(parent.pid for parent in psutil.Process(pid).parents())]
        except psutil.NoSuchProcess:
            return None
        return next((leaders[a] for a in ancestors if a in leaders), None)

    def assert_running(self) -> None:
        dead = {
            name: p.returncode
            for name, p in self.processes.items()
            if p.poll() is not None and name not in self.killed
        }
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
