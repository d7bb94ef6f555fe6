"""A real Airflow on this machine (scheduler, dag-processor, triggerer, api-server; LocalExecutor),
in its own home and metadata DB, stopped by process id. `make demo` and the real-scheduler tests
run the chain through it, so they see what production sees: schedules, asset conditions, pools.

Every component is started in its own session, so that it and the workers it forks are stopped
together by their process-group id: SIGTERM, then SIGKILL after a grace period. Airflow 3's
LocalExecutor runs tasks through the api-server's execution API, so all four are needed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safepassage import settings

COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
# Their log servers bind every interface on fixed ports; task logs are local files the api-server
# reads itself, so they are not started.
COMPONENT_ARGS = {"scheduler": ["--skip-serve-logs"], "triggerer": ["--skip-serve-logs"]}


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
    passwords kept in the home's passwords file; without users, everyone is admin (tests)."""

    def __init__(
        self,
        home: Path,
        metadata_url: str,
        dags_folder: Path,
        extra_env: dict[str, str] | None = None,
        users: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.home = home
        self.dags = dags_folder
        self.logs = home / "process-logs"
        self.port = port or free_port()
        self.metadata_url = metadata_url
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
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
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
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
        """Migrate the metadata DB, start the components, return once the API answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        if self.users and not self.passwords_file.exists():
            self.passwords_file.write_text(
                "{" + ", ".join(f'"{user}": "{secrets.token_urlsafe(16)}"' for user in self.users) + "}",
                encoding="utf-8",
            )
            self.passwords_file.chmod(0o600)
        self.migrate(timeout)
        # The api-server first: task processes report through its execution API, so a task started
        # before it answers would fail its first try.
        ordered = sorted(components, key=lambda name: name != "api-server")
        for component in ordered:
            self.processes[component] = subprocess.Popen(
                [self.airflow, component, *COMPONENT_ARGS.get(component, [])],
                env=self.env,
                stdout=(self.logs / f"{component}.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if component == "api-server":
                wait_for("the Airflow API server", self._healthy, timeout, interval=0.2)

    def _healthy(self) -> bool:
        import httpx

        self.assert_running()
        return httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).status_code == 200

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
        self.processes.clear()

    def assert_running(self) -> None:
        dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
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
