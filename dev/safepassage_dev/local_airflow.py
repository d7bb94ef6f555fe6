"""A real Airflow on this machine (scheduler, dag-processor, triggerer, api-server; LocalExecutor),
in its own home and metadata DB, stopped by process id. `make demo` and the real-scheduler tests
run the chain through it, so they see what production sees: schedules, asset conditions, pools.

Every component is started in its own session, so that it and the workers it forks are stopped
together by their process-group id: SIGTERM, then SIGKILL after a grace period. Airflow 3's
LocalExecutor runs tasks through the api-server's execution API, so all four are needed.

`executor="CeleryExecutor"` adds `celery_workers` Celery workers (the production shape of
docker-compose.yml) with Redis as the broker: its own database number and a key prefix unique to
this Airflow, so parallel clusters never take each other's tasks.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from safepassage import settings

COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
# Their log servers bind every interface on fixed ports; task logs are local files the api-server
# reads itself, so they are not started.
COMPONENT_ARGS = {"scheduler": ["--skip-serve-logs"], "triggerer": ["--skip-serve-logs"]}
CELERY_WORKER = "celery-worker"  # components celery-worker-1, celery-worker-2, ...
# The Celery broker: Redis, a database number of its own (db 0 carries the judgement channel).
CELERY_BROKER_URL = os.environ.get("SAFEPASSAGE_TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NotWorthWaiting(RuntimeError):
    """What `wait_for` waits for can no longer happen (a component died, a run went wrong)."""


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except NotWorthWaiting:
            raise
        except Exception as error:  # the thing we wait for may not be up yet
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})")


class LocalAirflow:
    """One Airflow for one purpose. `users` (simple auth manager, e.g. "make-demo:admin") get random
    passwords kept in the home's passwords file; without users, everyone is admin (tests).
    `setup` commands (scripts of this environment, e.g. ("safepassage", "init")) run after
    `airflow db migrate`, before the components start; `name` keeps its Celery keys apart."""

    def __init__(
        self,
        home: Path,
        metadata_url: str,
        dags_folder: Path,
        extra_env: dict[str, str] | None = None,
        users: dict[str, str] | None = None,
        port: int | None = None,
        executor: str = "LocalExecutor",
        celery_workers: int = 2,
        setup: tuple[tuple[str, ...], ...] = (),
        name: str | None = None,
    ) -> None:
        self.home = home
        self.name = name or f"sp_airflow_{uuid.uuid4().hex[:12]}"
        self.dags = dags_folder
        self.logs = home / "process-logs"
        self.port = port or free_port()
        self.metadata_url = metadata_url
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.killed: set[str] = set()  # components lost on purpose (`kill`): not a failure
        self.executor = executor
        self.workers = (
            [f"{CELERY_WORKER}-{n}" for n in range(1, celery_workers + 1)]
            if executor == "CeleryExecutor"
            else []
        )
        self.setup = setup
        self.airflow = str(Path(sys.executable).parent / "airflow")
        self.users = users or {}
        self.passwords_file = home / "passwords.json"
        self.env = {
            **os.environ,
            **settings.airflow_environment(),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",  # this Airflow runs its DAGs at once
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__PARALLELISM": "4",  # a small machine: a few task processes at a time
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.1",  # DESIGN.md: 1 s → 0.3 s per hop
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # log servers on free ports: the defaults (8793, 8794) would collide between clusters
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **(self.celery_env() if self.workers else {}),
            **(
                {
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                        f"{user}:{role}" for user, role in self.users.items()
                    ),
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
                }
                if self.users
                else {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True"}
            ),
            **(extra_env or {}),
        }
        if metadata_url.startswith("postgresql+psycopg"):
            # psycopg 3 is async-capable; without this Airflow would look for asyncpg
            self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = metadata_url

    def celery_env(self) -> dict[str, str]:
        return {
            "AIRFLOW__CELERY__BROKER_URL": CELERY_BROKER_URL,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{self.metadata_url}",
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": f"{self.name}:",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        }

    # --- lifecycle ----------------------------------------------------------------------------

    def migrate(self, timeout: float = 240) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / "db-migrate.log").open("wb") as log:
            subprocess.run(
                [self.airflow, "db", "migrate"],
                env=self.env,
                check=True,
                timeout=timeout,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def start(self, timeout: float = 240, components: tuple[str, ...] = COMPONENTS) -> None:
        """Migrate the metadata DB; then the setup commands beside the api-server, dag-processor and
        triggerer; the scheduler once the API answers and the setup is done; Celery workers last."""
        self.home.mkdir(parents=True, exist_ok=True)
        if self.users and not self.passwords_file.exists():
            self.passwords_file.write_text(
                "{" + ", ".join(f'"{user}": "{secrets.token_urlsafe(16)}"' for user in self.users) + "}",
                encoding="utf-8",
            )
            self.passwords_file.chmod(0o600)
        self.migrate(timeout)
        # The set-up commands (one after another) and every component that runs no task start at
        # once, beside the api-server; the scheduler (it starts task processes, which report through
        # the api-server's execution API) waits for the api-server to answer and the set-up (pools).
        setup_thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="airflow-setup"
        )
        setup = setup_thread.submit(self._run_setup, timeout)
        setup_thread.shutdown(wait=False)  # the one job still runs; no more are taken
        runs_tasks = [name for name in components if name == "scheduler"]
        for component in sorted(set(components) - set(runs_tasks), key=lambda name: name != "api-server"):
            self._start_component(component)
        if "api-server" in components:
            wait_for("the Airflow API server", self._healthy, timeout, interval=0.2)
        setup.result(timeout=timeout)
        for component in runs_tasks:
            self._start_component(component)
        # Workers after the API server, as compose's depends_on has it: a task a worker takes sooner
        # fails to reach the Execution API and waits for a retry.
        for worker in self.workers:
            self.processes[worker] = subprocess.Popen(
                # No log server: it binds every interface (like the scheduler's, above); the workers
                # share this home, so the api-server reads their task logs as local files.
                [
                    self.airflow,
                    "celery",
                    "worker",
                    "--skip-serve-logs",
                    "--celery-hostname",
                    f"{worker}-{self.name}@%h",
                ],
                env=self.env,
                stdout=(self.logs / f"{worker}.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _run_setup(self, timeout: float) -> None:
        for command in self.setup:
            with (self.logs / f"setup-{command[0]}.log").open("ab") as log:
                subprocess.run(
                    [str(Path(sys.executable).parent / command[0]), *command[1:]],
                    env=self.env,
                    check=True,
                    timeout=timeout,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )

    def _start_component(self, component: str) -> None:
        self.processes[component] = subprocess.Popen(
            [self.airflow, component, *COMPONENT_ARGS.get(component, [])],
            env=self.env,
            stdout=(self.logs / f"{component}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _healthy(self) -> bool:
        import httpx

        self.assert_running()
        return httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).status_code == 200

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
        self.processes.clear()

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
            raise NotWorthWaiting(f"Airflow components exited: {dead}\n{tails}")

    def log_tail(self, component: str, lines: int = 40) -> str:
        path = self.logs / f"{component}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # --- the REST API ---------------------------------------------------------------------------

    def password(self, user: str) -> str:
        import json

        return str(json.loads(self.passwords_file.read_text(encoding="utf-8"))[user])

    def token(self, user: str | None = None) -> str:
        """A Bearer token: `user`'s login, or (everyone admin) the anonymous one."""
        from safepassage.adapters.events import AirflowApi

        if user is not None:
            return AirflowApi.login(self.api_url, user, self.password(user))
        import httpx

        response = httpx.get(f"{self.api_url}/auth/token", timeout=30)
        response.raise_for_status()
        return str(response.json()["access_token"])
