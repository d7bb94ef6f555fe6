"""`make airflow` started as the README tells ops staff, in a fresh AIRFLOW_HOME on a free port: the
terminal's output kept, the admin's password read from the file the start-up line names, stopped
with Ctrl-C (SIGINT), as a person stops it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import psutil

from safepassage import settings
from safepassage.adapters.events import AirflowApi
from safepassage_dev.local_airflow import NotWorthWaiting, free_port, wait_for
from tests.reliability.loopback import listening_addresses, not_on_loopback

# The test process's own Airflow settings (its home, its metadata DB) and make's job server stay out.
NOT_INHERITED = ("AIRFLOW", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTEST_", "COV_")


class MakeAirflow:
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.terminal = home.parent / "make-airflow.out"
        self.env = {
            **{key: value for key, value in os.environ.items() if not key.startswith(NOT_INHERITED)},
            "AIRFLOW_HOME": str(home),
            # Airflow's log servers have no host setting; `make airflow` never starts them, but a free
            # port keeps a stray one from colliding with another Airflow on this machine.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 240) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "-C",
                str(settings.PROJECT_ROOT),
                "airflow",
                f"AIRFLOW_PORT={self.port}",
            ],
            env=self.env,
            stdout=self.terminal.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for("`make airflow` to say Airflow is up", self._up, timeout, 0.2)

    def _up(self) -> bool:
        self.assert_running()
        return (
            "Airflow is up on" in self.output()
            and httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).is_success
        )

    def assert_running(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise NotWorthWaiting(
                f"`make airflow` exited {self.process.returncode}:\n{self.output()[-4000:]}"
            )

    def output(self) -> str:
        return self.terminal.read_text(encoding="utf-8", errors="replace") if self.terminal.exists() else ""

    def password_file(self) -> Path:
        """The file the start-up line names (the password itself is never printed)."""
        found = re.search(r"log in as admin, password in (\S+)\.", self.output())
        assert found, self.output()
        return Path(found.group(1))

    def api(self) -> AirflowApi:
        password = json.loads(self.password_file().read_text(encoding="utf-8"))["admin"]
        return AirflowApi(self.api_url, AirflowApi.login(self.api_url, "admin", password))

    def log_tail(self, component: str, lines: int = 40) -> str:
        path = self.home / "process-logs" / f"{component}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def processes(self) -> list[psutil.Process]:
        if self.process is None:
            return []
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        return []

    def assert_listens_on_loopback_only(self) -> None:
        listening = listening_addresses(*(process.pid for process in self.processes()))
        assert any(port == self.port for _, _, port in listening), listening
        assert not_on_loopback(listening) == [], listening

    def stop(self, grace: float = 60) -> None:
        """Ctrl-C, as a person stops it; anything still running after `grace` is killed."""
        if self.process is None:
            return
        everything = self.processes()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        for process in everything:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
