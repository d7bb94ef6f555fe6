"""Every server the project starts listens on loopback only: the emulators (in process and
as `ad-emulators serve`), read from the sockets the processes really hold. The
Airflow components a LocalAirflow starts are checked the same way where a test starts them
(tests/e2e/test_ui_auth.py, tests/e2e/test_chain_under_scheduler.py, tests/e2e/test_celery_cluster.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from safepassage_dev.local_airflow import wait_for
from tests.reliability.loopback import listening_addresses, not_on_loopback


def test_the_sandbox_emulators_in_this_process_listen_on_loopback(emulators: Any) -> None:
    listening = listening_addresses(os.getpid())
    ports = {port for _, _, port in listening}
    assert {emulators.google.port, emulators.google.token_port} <= ports, listening
    assert not_on_loopback(listening) == []


def test_ad_emulators_serve_listens_on_loopback(tmp_path: Path) -> None:
    descriptor = tmp_path / "descriptor.json"
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("ad-emulators")), "serve", "--state", str(tmp_path / "state"),
         "--descriptor", str(descriptor)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for("the emulators descriptor", descriptor.exists, timeout=120)
        listening = wait_for(
            "the emulators' three listeners (gRPC, token, Graph)",
            lambda: (found := listening_addresses(server.pid)) and len(found) >= 3 and found,
            timeout=30,
        )
        assert not_on_loopback(listening) == []
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
