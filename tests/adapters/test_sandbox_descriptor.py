"""`ad-emulators serve` as a real subprocess, driven by a client that knows only the descriptor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CLIENT = Path(__file__).with_name("descriptor_client.py")
EMULATORS = Path(sys.executable).with_name("ad-emulators")


def _environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GRPC_")}
    environment.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    environment.pop("SAFEPASSAGE_EMULATORS_DESCRIPTOR", None)
    return environment


def _cli(*args: str) -> str:
    done = subprocess.run(
        [str(EMULATORS), *args], capture_output=True, text=True, env=_environment(), timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, Path]]:
    state = tmp_path / "state"
    _cli("clock", "set", "2022-03-25T09:00:00+00:00", "--state", str(state))
    descriptor = tmp_path / "descriptor.json"
    process = subprocess.Popen(
        [str(EMULATORS), "serve", "--state", str(state), "--descriptor", str(descriptor)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    try:
        assert process.stdout is not None
        printed = process.stdout.readline().strip()
        assert printed == str(descriptor), process.stderr.read() if process.stderr else ""
        yield process, descriptor, state
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _client(descriptor: Path, action: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(CLIENT), str(descriptor), action],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.slow
def test_a_client_built_only_from_the_descriptor_creates_reads_and_reports(served):
    process, descriptor, state = served
    document = json.loads(descriptor.read_text())
    assert set(document["google_ads"]) >= {"endpoint", "ca_cert", "client_config", "customer_ids"}
    assert set(document["meta"]) >= {
        "graph_url",
        "api_version",
        "app_id",
        "app_secret",
        "access_token",
        "ad_account_ids",
    }
    assert all(account.startswith("act_") for account in document["meta"]["ad_account_ids"])
    assert oct(descriptor.stat().st_mode & 0o777) == "0o600"

    created = _client(descriptor, "create")
    assert created["google_ads"]["created"].startswith(
        f"customers/{document['google_ads']['customer_ids'][0]}/"
    )
    assert created["meta"]["created"]

    _cli("clock", "set", "2022-04-01", "--state", str(state))  # picked up by the running server
    reported = _client(descriptor, "report")
    assert reported["google_ads"]["campaigns"] == ["descriptor"]
    assert reported["google_ads"]["report_days"][0] == "2022-03-25"
    assert reported["google_ads"]["report_days"][-1] == "2022-03-31"
    assert reported["meta"]["campaigns"] == ["descriptor"]

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not descriptor.exists()  # its ports are gone
