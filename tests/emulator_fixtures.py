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
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ad_emulators.testing import LeakGuard, NonLoopbackConnection, is_loopback, loopback_only

__all__ = ["LeakGuard", "NonLoopbackConnection", "is_loopback", "loopback_only"]

EMULATOR_EPOCH = dt.datetime(2022, 3, 25, 8, 0, tzinfo=dt.UTC)
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
