"""Test support for anything that talks to the emulators: a pytest fixture that lets a test reach this
machine only. Any DNS lookup, socket connection or gRPC channel to another host raises
`NonLoopbackConnection` and fails the test at teardown (so a swallowed error still fails loudly).

Used by the emulators' own tests (emulators/tests/conftest.py) and by SafePassage's
(tests/emulator_fixtures.py). Needs pytest; the emulators themselves never import it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

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
            raise NonLoopbackConnection(f"tests may only reach loopback; refused {what} {host!r}")


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
