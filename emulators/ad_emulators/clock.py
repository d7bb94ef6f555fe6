"""The sandbox's simulated "now", shared by both emulators.

A past campaign (the demo replays 25 March - 31 October 2022) can only run if the emulators believe
it is 2022: entities are stamped with simulated creation and change times, rate rules that count
"per hour" count simulated hours, and delivery stops at the simulated present.

A clock that was never set follows the wall clock. Once set it is frozen: it moves only by `set` or
`advance`, so a replay is reproducible. With a state directory the clock is persisted
(`clock.json`) on every change and survives a restart of the emulators.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

CLOCK_FILE = "clock.json"
UTC = dt.UTC


def as_utc(value: dt.datetime | dt.date) -> dt.datetime:
    """An aware UTC datetime; a date means its midnight UTC, a naive datetime is taken as UTC."""
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class EmulatorClock:
    """Thread-safe simulated clock. `now=None` follows the wall clock until `set` is called."""

    def __init__(self, now: dt.datetime | dt.date | None = None, *, state_dir: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen_at: dt.datetime | None = as_utc(now) if now is not None else None
        self._path = Path(state_dir) / CLOCK_FILE if state_dir is not None else None

    @classmethod
    def load(cls, state_dir: Path) -> EmulatorClock:
        """The clock persisted in `state_dir`, or a wall-clock-following one that will persist there."""
        path = Path(state_dir) / CLOCK_FILE
        clock = cls(state_dir=state_dir)
        if path.exists():
            clock._frozen_at = cls.from_dict(json.loads(path.read_text(encoding="utf-8")))._frozen_at
        return clock

    @property
    def is_simulated(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> dt.datetime:
        with self._lock:
            return self._frozen_at if self._frozen_at is not None else dt.datetime.now(UTC)

    def today(self) -> dt.date:
        return self.now().date()

    def set(self, when: dt.datetime | dt.date) -> dt.datetime:
        with self._lock:
            self._frozen_at = as_utc(when)
            self._save()
            return self._frozen_at

    def advance(self, by: dt.timedelta) -> dt.datetime:
        with self._lock:
            start = self._frozen_at if self._frozen_at is not None else dt.datetime.now(UTC)
            self._frozen_at = start + by
            self._save()
            return self._frozen_at

    def follow_wall_clock(self) -> None:
        with self._lock:
            self._frozen_at = None
            self._save()

    def to_dict(self) -> dict[str, Any]:
        frozen = self._frozen_at
        return {"simulated_now": frozen.isoformat() if frozen else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmulatorClock:
        value = data.get("simulated_now")
        return cls(dt.datetime.fromisoformat(value) if value else None)

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        temporary.replace(self._path)

    def __repr__(self) -> str:
        return f"EmulatorClock({self._frozen_at.isoformat() if self._frozen_at else 'wall clock'})"
