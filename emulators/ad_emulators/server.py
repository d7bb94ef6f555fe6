"""Both emulators behind one object, and the descriptor that tells a client how to reach them.

`EmulatorServer` starts the Google Ads (gRPC/TLS) and Meta Graph (HTTP) emulators on loopback ports,
sharing one simulated clock, one fault plan and one request log. With a state directory every entity,
the clock, the key material and the sandbox credentials survive a restart. The descriptor (JSON) is the
only contract with clients: see docs/emulators.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path
from typing import Any

from ad_emulators.clock import CLOCK_FILE, EmulatorClock
from ad_emulators.faults import FaultPlan, RequestLog
from ad_emulators.google_ads.errors import API_VERSION as GOOGLE_ADS_API_VERSION
from ad_emulators.google_ads.service import DEFAULT_CUSTOMER_IDS, GoogleAdsEmulator

DESCRIPTOR_VERSION = 1
DESCRIPTOR_FILE = "descriptor.json"
META_CREDENTIALS_FILE = "meta_credentials.json"
DEFAULT_AD_ACCOUNT_IDS = ("act_5550002001", "act_5550002002")
META_API_VERSION = "v26.0"
REQUEST_LOG_FILE = "requests.jsonl"


class StateDirClock(EmulatorClock):
    """A clock that follows `ad-emulators clock set` run from another process while serving:
    `now()` re-reads the state directory's clock file whenever it changed (one stat per call)."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir=state_dir)
        self._file = Path(state_dir) / CLOCK_FILE
        self._seen_mtime: int | None = None
        self._sync()

    def now(self) -> dt.datetime:
        self._sync()
        return super().now()

    def _sync(self) -> None:
        try:
            mtime = self._file.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._seen_mtime:
            return
        self._seen_mtime = mtime
        try:
            wanted = EmulatorClock.from_dict(json.loads(self._file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return  # a half-written file: the next call sees the finished one
        if wanted.is_simulated and wanted.now() != super().now():
            self.set(wanted.now())
            self._seen_mtime = self._file.stat().st_mtime_ns
        elif not wanted.is_simulated and self.is_simulated:
            self.follow_wall_clock()
            self._seen_mtime = self._file.stat().st_mtime_ns


class EmulatorServer:
    """`start()` both emulators; `descriptor` then says how to connect. Usable as a context manager."""

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        clock: EmulatorClock | None = None,
        faults: FaultPlan | None = None,
        customer_ids: tuple[str, ...] = DEFAULT_CUSTOMER_IDS,
        ad_account_ids: tuple[str, ...] = DEFAULT_AD_ACCOUNT_IDS,
        tls_dir: Path | None = None,
    ) -> None:
        self.state_dir = Path(state_dir) if state_dir is not None else None
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        if clock is None:
            clock = StateDirClock(self.state_dir) if self.state_dir else EmulatorClock()
        self.clock = clock
        self.log = RequestLog(self.state_dir / REQUEST_LOG_FILE if self.state_dir else None)
        self._faults = faults if faults is not None else FaultPlan.empty()
        self.customer_ids = customer_ids
        self.ad_account_ids = ad_account_ids
        self.google = GoogleAdsEmulator(
            state_dir=self.state_dir,
            tls_dir=tls_dir,
            clock=self.clock,
            faults=self._faults,
            log=self.log,
            customer_ids=customer_ids,
        )
        self.meta: Any = None
        self._meta_credentials = self._load_meta_credentials()
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        from ad_emulators.meta.server import MetaCredentials, MetaGraphServer

        self.google.start()
        self.meta = MetaGraphServer(
            self.state_dir,
            clock=self.clock,
            faults=self._faults,
            log=self.log,
            credentials=MetaCredentials(
                app_id=self._meta_credentials["app_id"],
                app_secret=self._meta_credentials["app_secret"],
                access_token=self._meta_credentials["access_token"],
            ),
            ad_account_ids=self.ad_account_ids,
        )
        self.meta.start()
        self._started = True
        return self.descriptor

    def stop(self) -> None:
        if self.meta is not None:
            self.meta.stop()
            self.meta = None
        self.google.stop()
        self._started = False

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every entity on both platforms and the request log; credentials stay valid."""
        self.google.reset()
        if self.meta is not None:
            self.meta.reset()
        self.log.clear()

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        """Swap the fault plan of both running emulators (tests arrange faults per test)."""
        self._faults = plan
        self.google.faults = plan
        if self.meta is not None:
            self.meta.faults = plan

    # -- descriptor --------------------------------------------------------------------------------
    @property
    def descriptor(self) -> dict[str, Any]:
        if not self._started:
            raise RuntimeError("start the sandbox before asking for its descriptor")
        return {
            "version": DESCRIPTOR_VERSION,
            "note": "SafePassage sandbox: local emulators, simulated data; credentials are sandbox-only.",
            "state_dir": str(self.state_dir) if self.state_dir else None,
            "google_ads": {
                "endpoint": self.google.endpoint,
                "api_version": GOOGLE_ADS_API_VERSION,
                "ca_cert": str(self.google.ca_cert),
                "token_uri": self.google.token_uri,
                "client_config": self.google.client_config(),
                "customer_ids": list(self.customer_ids),
            },
            "meta": {
                "graph_url": self.meta.url,
                "api_version": META_API_VERSION,
                "app_id": self._meta_credentials["app_id"],
                "app_secret": self._meta_credentials["app_secret"],
                "access_token": self._meta_credentials["access_token"],
                "ad_account_ids": list(self.meta.account_ids),
            },
        }

    def write_descriptor(self, path: Path | None = None) -> Path:
        """Write the descriptor (mode 0600: it holds the sandbox credentials); returns its path."""
        if path is None:
            if self.state_dir is None:
                raise ValueError("give a descriptor path when the sandbox has no state directory")
            path = self.state_dir / DESCRIPTOR_FILE
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(self.descriptor, stream, indent=2)
        temporary.replace(path)
        return path

    # -- internals ---------------------------------------------------------------------------------
    def _load_meta_credentials(self) -> dict[str, str]:
        path = self.state_dir / META_CREDENTIALS_FILE if self.state_dir else None
        if path is not None and path.exists():
            loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
            return loaded
        values = {
            "app_id": str(5_550_000_000 + secrets.randbelow(999_999)),
            "app_secret": secrets.token_hex(16),
            "access_token": "EAAsandbox" + secrets.token_urlsafe(32),
        }
        if path is not None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump(values, stream)
        return values


def read_descriptor(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    if document.get("version") != DESCRIPTOR_VERSION:
        raise ValueError(f"{path}: unsupported sandbox descriptor version {document.get('version')!r}")
    return document


__all__ = ["DEFAULT_AD_ACCOUNT_IDS", "EmulatorServer", "read_descriptor"]
