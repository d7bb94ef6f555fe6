"""Fault plan and request log shared by the Google Ads and Meta emulators.

A fault plan says which calls fail and how, so tests (and the demo) can prove that the project's
adapters survive throttling, outages, partial failures and lost responses. Each rule names a
platform, an fnmatch pattern on the call's target, a fault kind and when it fires: on the Nth
matching call(s), or at a rate drawn from a seeded generator (deterministic for a seed and a call
order). Each emulator applies its own platform's kinds.

Targets: Google = the gRPC method path (`/google.ads.googleads.v26.services.GoogleAdsService/Mutate`);
Meta = `METHOD /path` without the version prefix (`POST /act_1/campaigns`, `GET /123/insights`).

Example (YAML or JSON):

    seed: 7
    faults:
      - platform: meta
        match: "POST /act_*/adsets"
        kind: user_rate_limit
        nth: [2]
        params: {estimated_time_to_regain_access: 5}
      - platform: google_ads
        match: "*GoogleAdsService/Mutate"
        kind: resource_exhausted
        rate: 0.1
        times: 3
        params: {retry_delay_seconds: 30}

Every request either emulator answers is recorded in the `RequestLog` (platform, method, target,
simulated and wall time, outcome, fault kind), which tests assert on.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PlatformName = Literal["google_ads", "meta"]


@dataclass(frozen=True)
class PlanProblem:
    """One thing wrong with a fault plan: where (file, line, field) and what."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class FaultPlanError(ValueError):
    """A fault plan that cannot be used; lists every problem. The sandbox's own error: it imports
    nothing of the project it emulates the platforms for."""

    def __init__(self, problems: list[PlanProblem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(["bad fault plan:", *(f"  {problem}" for problem in self.problems)]))


def _field_path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the YAML node at `loc` (or of its nearest parent that exists)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _problems(error: ValidationError, source: str, node: yaml.Node | None = None) -> list[PlanProblem]:
    return [
        PlanProblem(source, _field_path(tuple(item["loc"])), item["msg"], _line_of(node, tuple(item["loc"])))
        for item in error.errors(include_url=False)
    ]


class FaultKind(StrEnum):
    # Google Ads (gRPC)
    RESOURCE_EXHAUSTED = "resource_exhausted"
    TRANSIENT = "transient"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"
    PARTIAL_FAILURE = "partial_failure"
    # Meta Graph (HTTP)
    APP_RATE_LIMIT = "app_rate_limit"  # code 4
    USER_RATE_LIMIT = "user_rate_limit"  # code 17, subcode 2446079
    ACCOUNT_RATE_LIMIT = "account_rate_limit"  # code 613, subcode 1487742
    ADS_MANAGEMENT_RATE_LIMIT = "ads_management_rate_limit"  # code 80004, subcode 2446079
    SERVER_ERROR = "server_error"  # HTTP 500, code 2
    ASYNC_REPORT_STALL = "async_report_stall"
    ASYNC_REPORT_FAIL = "async_report_fail"
    # both
    RESPONSE_LOST_AFTER_COMMIT = "response_lost_after_commit"


GOOGLE_KINDS = frozenset(
    {
        FaultKind.RESOURCE_EXHAUSTED,
        FaultKind.TRANSIENT,
        FaultKind.INTERNAL,
        FaultKind.UNAVAILABLE,
        FaultKind.PARTIAL_FAILURE,
        FaultKind.RESPONSE_LOST_AFTER_COMMIT,
    }
)
META_KINDS = frozenset(
    {
        FaultKind.APP_RATE_LIMIT,
        FaultKind.USER_RATE_LIMIT,
        FaultKind.ACCOUNT_RATE_LIMIT,
        FaultKind.ADS_MANAGEMENT_RATE_LIMIT,
        FaultKind.SERVER_ERROR,
        FaultKind.ASYNC_REPORT_STALL,
        FaultKind.ASYNC_REPORT_FAIL,
        FaultKind.RESPONSE_LOST_AFTER_COMMIT,
    }
)


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: PlatformName
    match: str = Field(default="*", min_length=1, description="fnmatch pattern on the call's target")
    kind: FaultKind
    nth: tuple[int, ...] = Field(default=(), description="1-based positions among the matching calls")
    rate: float | None = Field(default=None, ge=0, le=1, description="share of matching calls, seeded")
    times: int | None = Field(default=None, ge=1, description="stop after firing this many times")
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _when(self) -> FaultRule:
        if bool(self.nth) == (self.rate is not None):
            raise ValueError("give exactly one of `nth` (which matching calls) or `rate` (share of them)")
        if any(position < 1 for position in self.nth):
            raise ValueError("`nth` counts matching calls from 1")
        allowed = GOOGLE_KINDS if self.platform == "google_ads" else META_KINDS
        if self.kind not in allowed:
            raise ValueError(f"fault kind {self.kind.value!r} does not exist on {self.platform}")
        return self


class _PlanModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    faults: tuple[FaultRule, ...] = ()


@dataclass(frozen=True)
class Fault:
    """A fault an emulator must inject into the current call."""

    kind: FaultKind
    params: Mapping[str, Any]
    rule_index: int

    def param(self, name: str, default: Any) -> Any:
        return self.params.get(name, default)


class FaultPlan:
    """Thread-safe: each rule counts its matching calls; `check` is called once per request."""

    def __init__(self, rules: tuple[FaultRule, ...] = (), seed: int = 0) -> None:
        self.rules = rules
        self.seed = seed
        self._lock = threading.Lock()
        self._matched = [0] * len(rules)
        self._fired = [0] * len(rules)
        self._random = [random.Random(f"{seed}:{index}") for index in range(len(rules))]

    @classmethod
    def empty(cls) -> FaultPlan:
        return cls()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "fault plan") -> FaultPlan:
        try:
            model = _PlanModel.model_validate(data)
        except ValidationError as error:
            raise FaultPlanError(_problems(error, source)) from None
        return cls(model.faults, model.seed)

    @classmethod
    def load(cls, path: Path) -> FaultPlan:
        """Read a YAML or JSON plan; problems name the file, line and field."""
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text) if node is not None else None
        except (OSError, UnicodeDecodeError) as error:
            raise FaultPlanError([PlanProblem(source, "", f"cannot read it ({error})")]) from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            reason = getattr(error, "problem", None) or str(error)
            raise FaultPlanError([PlanProblem(source, "", f"not valid YAML: {reason}", line)]) from None
        try:
            model = _PlanModel.model_validate(data or {})
        except ValidationError as error:
            raise FaultPlanError(_problems(error, source, node)) from None
        return cls(model.faults, model.seed)

    def check(self, platform: str, target: str) -> Fault | None:
        """The fault to inject into this call of `target`, counting it against every matching rule."""
        chosen: Fault | None = None
        with self._lock:
            for index, rule in enumerate(self.rules):
                if rule.platform != platform or not fnmatch.fnmatchcase(target, rule.match):
                    continue
                self._matched[index] += 1
                if rule.times is not None and self._fired[index] >= rule.times:
                    continue
                if rule.nth:
                    fires = self._matched[index] in rule.nth
                else:
                    fires = self._random[index].random() < (rule.rate or 0.0)
                if fires and chosen is None:
                    self._fired[index] += 1
                    chosen = Fault(rule.kind, dict(rule.params), index)
        return chosen

    def fired(self) -> list[int]:
        """How many times each rule has fired, in plan order."""
        with self._lock:
            return list(self._fired)


@dataclass(frozen=True)
class RequestRecord:
    platform: str
    method: str
    target: str
    simulated_at: str
    wall_at: str
    outcome: str  # ok | error | fault
    status: str = ""  # HTTP status or gRPC code
    fault: str | None = None
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class RequestLog:
    """Every request an emulator answered, in order; optionally appended to a JSON-lines file."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._path = Path(path) if path is not None else None

    def record(
        self,
        platform: str,
        method: str,
        target: str,
        *,
        simulated_at: dt.datetime,
        outcome: str,
        status: str | int = "",
        fault: FaultKind | str | None = None,
        detail: str = "",
        **extra: Any,
    ) -> RequestRecord:
        entry = RequestRecord(
            platform=platform,
            method=method,
            target=target,
            simulated_at=simulated_at.isoformat(),
            wall_at=dt.datetime.now(dt.UTC).isoformat(),
            outcome=outcome,
            status=str(status),
            fault=str(fault) if fault is not None else None,
            detail=detail,
            extra=dict(extra),
        )
        with self._lock:
            self._records.append(entry)
            if self._path is not None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                with self._path.open("a", encoding="utf-8") as stream:
                    stream.write(json.dumps(asdict(entry), default=str) + "\n")
        return entry

    def entries(
        self,
        platform: str | None = None,
        method: str | None = None,
        target_contains: str | None = None,
        fault: FaultKind | str | None = None,
        outcome: str | None = None,
    ) -> list[RequestRecord]:
        with self._lock:
            records = list(self._records)
        return [
            entry
            for entry in records
            if (platform is None or entry.platform == platform)
            and (method is None or entry.method == method)
            and (target_contains is None or target_contains in entry.target)
            and (fault is None or entry.fault == str(fault))
            and (outcome is None or entry.outcome == outcome)
        ]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
