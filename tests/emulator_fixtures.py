"""pytest plugin: the emulators in-process, real SDK clients pointed at it, and a loopback-only guard.

Registered by tests/conftest.py (`pytest_plugins = ["tests.emulator_fixtures"]`). Fixtures:

* `emulators` — the session's `EmulatorServer` (both emulators on free loopback ports), reset before the
  test: no entities, empty fault plan and request log, clock frozen at `EMULATOR_EPOCH`. Also turns on
  `loopback_only`.
* `google_ads_client`, `meta_api` — the project's own client factory fed with the emulators descriptor.
* `emulators_descriptor_env` — writes the descriptor to a file and points `SAFEPASSAGE_EMULATORS_DESCRIPTOR`
  at it, as `ad-emulators serve` would for the DAGs.
* `start_emulators` — start another server (e.g. over a state directory, to test restarts).
* `loopback_only` — any connection, DNS lookup or gRPC channel to a non-loopback host raises
  `NonLoopbackConnection` AND fails the test at teardown (so a swallowed error still fails loudly).
  Applied automatically to every test under tests/adapters and tests/e2e.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

EMULATOR_EPOCH = dt.datetime(2022, 3, 25, 8, 0, tzinfo=dt.UTC)
_LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}


class NonLoopbackConnection(ConnectionRefusedError):
    """Raised when a test tries to reach anything but this machine."""


def is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    host = host.strip("[]")
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _grpc_target_host(target: str) -> str:
    target = target.split("///", 1)[-1]
    for scheme in ("ipv4:", "ipv6:", "dns:", "unix:"):
        if target.startswith(scheme):
            if scheme == "unix:":
                return "localhost"
            target = target[len(scheme) :]
    if target.startswith("["):
        return target[1 : target.index("]")]
    return target.rsplit(":", 1)[0] if target.count(":") == 1 else target


class LeakGuard:
    def __init__(self) -> None:
        self.attempts: list[str] = []

    def check(self, host: Any, what: str) -> None:
        if not is_loopback(host):
            self.attempts.append(f"{what} {host}")
            raise NonLoopbackConnection(f"emulators tests may only reach loopback; refused {what} {host!r}")


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[LeakGuard]:
    import grpc

    guard = LeakGuard()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_secure, real_insecure = grpc.secure_channel, grpc.insecure_channel

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None:
            guard.check(host, "DNS lookup of")
        return real_getaddrinfo(host, *args, **kwargs)

    def checked(real: Callable[..., Any]) -> Callable[..., Any]:
        def connect(self: socket.socket, address: Any) -> Any:
            if self.family in (socket.AF_INET, socket.AF_INET6):
                guard.check(address[0], "connection to")
            return real(self, address)

        return connect

    def channel(real: Callable[..., Any]) -> Callable[..., Any]:
        def open_channel(target: str, *args: Any, **kwargs: Any) -> Any:
            guard.check(_grpc_target_host(target), "gRPC channel to")
            return real(target, *args, **kwargs)

        return open_channel

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", checked(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", checked(real_connect_ex))
    monkeypatch.setattr(grpc, "secure_channel", channel(real_secure))
    monkeypatch.setattr(grpc, "insecure_channel", channel(real_insecure))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    yield guard
    assert not guard.attempts, f"the test tried to leave this machine: {guard.attempts}"


GUARDED_TEST_DIRECTORIES = ("adapters", "e2e")


@pytest.fixture(autouse=True)
def _loopback_only_for_platform_tests(request: pytest.FixtureRequest) -> None:
    """Every test under tests/adapters and tests/e2e talks to the emulators only: guard them all."""
    parts = request.node.path.parts
    if any(a == "tests" and b in GUARDED_TEST_DIRECTORIES for a, b in itertools.pairwise(parts)):
        request.getfixturevalue("loopback_only")


@pytest.fixture(scope="session")
def emulators_tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One certificate for every in-process server: gRPC reads its trusted roots once per process."""
    return tmp_path_factory.mktemp("emulators-tls")


@pytest.fixture(scope="session")
def start_emulators(emulators_tls_dir: Path) -> Iterator[Callable[..., Any]]:
    """`start_emulators(state_dir=None, **options)` -> a started EmulatorServer, stopped at session end
    unless the test stops it first."""
    from ad_emulators.server import EmulatorServer
    from safepassage.adapters.platform_clients import SSL_ROOTS_ENV

    started: list[EmulatorServer] = []

    def start(state_dir: Path | None = None, **options: Any) -> EmulatorServer:
        options.setdefault("tls_dir", emulators_tls_dir)
        server = EmulatorServer(state_dir, **options)
        server.start()
        started.append(server)
        os.environ.setdefault(SSL_ROOTS_ENV, str(server.google.ca_cert))
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def _session_emulators(start_emulators: Callable[..., Any]) -> Any:
    return start_emulators()


@pytest.fixture
def emulators(_session_emulators: Any, loopback_only: LeakGuard) -> Any:
    """The running emulators, emptied for this test, clock frozen at EMULATOR_EPOCH, no faults."""
    from ad_emulators.faults import FaultPlan

    _session_emulators.faults = FaultPlan.empty()
    _session_emulators.reset()
    _session_emulators.clock.set(EMULATOR_EPOCH)
    return _session_emulators


@pytest.fixture
def google_ads_client(emulators: Any) -> Any:
    from safepassage.adapters.platform_clients import google_ads_client
    from safepassage.orchestration.connections import google_ads_settings_from_descriptor

    return google_ads_client(google_ads_settings_from_descriptor(emulators.descriptor))


@pytest.fixture
def meta_api(emulators: Any) -> Any:
    from safepassage.adapters.platform_clients import meta_api
    from safepassage.orchestration.connections import meta_settings_from_descriptor

    return meta_api(meta_settings_from_descriptor(emulators.descriptor))


@pytest.fixture
def emulators_descriptor_env(emulators: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from safepassage.orchestration.connections import EMULATORS_DESCRIPTOR_ENV

    path = emulators.write_descriptor(tmp_path / "descriptor.json")
    monkeypatch.setenv(EMULATORS_DESCRIPTOR_ENV, str(path))
    return path


def emulator_objects(server: Any) -> dict[str, list[str]]:
    """Every object both emulators hold, by platform and kind: sorted resource names (Google Ads, removed
    ones included) and object ids (Meta). Equal before and after a re-run means nothing was added.
    Meta's insights report jobs (`adreportrun`) are left out: every async insights query starts one,
    on the real API too; they are requests, not campaign objects."""
    found: dict[str, list[str]] = {}
    google = server.google.store
    with google.lock:
        for customer_id, state in google.customers.items():
            for kind, resources in state.resources.items():
                found.setdefault(f"google_ads/{kind}", []).extend(f"{customer_id}:{n}" for n in resources)
    meta = server.meta.store
    with meta.lock:
        for object_id, record in meta.data["objects"].items():
            if record["type"] == "adreportrun":
                continue
            found.setdefault(f"meta/{record['type']}", []).append(object_id)
    return {kind: sorted(names) for kind, names in sorted(found.items()) if names}
