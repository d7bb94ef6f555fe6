"""The sandbox clock and the fault plan / request log both emulators share."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ad_emulators.clock import EmulatorClock
from ad_emulators.faults import FaultKind, FaultPlan, FaultPlanError, RequestLog

MARCH = dt.datetime(2022, 3, 25, 9, tzinfo=dt.UTC)


def test_unset_clock_follows_the_wall_clock() -> None:
    clock = EmulatorClock()
    assert not clock.is_simulated
    assert abs((clock.now() - dt.datetime.now(dt.UTC)).total_seconds()) < 60


def test_set_clock_is_frozen_and_moves_only_when_told() -> None:
    clock = EmulatorClock(MARCH)
    assert clock.now() == MARCH == clock.now()
    assert clock.today() == dt.date(2022, 3, 25)
    clock.advance(dt.timedelta(hours=2))
    assert clock.now() == MARCH + dt.timedelta(hours=2)
    clock.set(dt.date(2022, 10, 31))
    assert clock.now() == dt.datetime(2022, 10, 31, tzinfo=dt.UTC)


def test_clock_is_persisted_with_the_state(tmp_path: Path) -> None:
    EmulatorClock(state_dir=tmp_path).set(MARCH)
    assert EmulatorClock.load(tmp_path).now() == MARCH
    assert not EmulatorClock.load(tmp_path / "elsewhere").is_simulated


def test_naive_times_are_taken_as_utc() -> None:
    assert EmulatorClock(dt.datetime(2022, 3, 25, 9)).now() == MARCH


def plan(**rule: object) -> FaultPlan:
    return FaultPlan.from_dict(
        {"seed": 7, "faults": [{"platform": "meta", "kind": "user_rate_limit", **rule}]}
    )


def test_nth_rule_fires_on_exactly_those_matching_calls() -> None:
    faults = plan(match="POST /act_*/campaigns", nth=[2, 4])
    fired = [faults.check("meta", "POST /act_1/campaigns") is not None for _ in range(5)]
    assert fired == [False, True, False, True, False]
    assert faults.check("meta", "GET /act_1/campaigns") is None
    assert faults.check("google_ads", "POST /act_1/campaigns") is None


def test_rate_rule_is_deterministic_for_a_seed_and_respects_times() -> None:
    def pattern(seed: int) -> list[bool]:
        faults = FaultPlan.from_dict(
            {"seed": seed, "faults": [{"platform": "meta", "kind": "server_error", "rate": 0.3}]}
        )
        return [faults.check("meta", "GET /1") is not None for _ in range(200)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert 30 < sum(pattern(7)) < 90
    limited = plan(rate=1.0, times=2)
    assert [limited.check("meta", "GET /x") is not None for _ in range(4)] == [True, True, False, False]
    assert limited.fired() == [2]


def test_fault_carries_its_kind_and_params() -> None:
    faults = FaultPlan.from_dict(
        {
            "faults": [
                {
                    "platform": "google_ads",
                    "match": "*GoogleAdsService/Mutate",
                    "kind": "resource_exhausted",
                    "nth": [1],
                    "params": {"retry_delay_seconds": 30},
                }
            ]
        }
    )
    fault = faults.check("google_ads", "/google.ads.googleads.v26.services.GoogleAdsService/Mutate")
    assert fault is not None
    assert fault.kind is FaultKind.RESOURCE_EXHAUSTED
    assert fault.param("retry_delay_seconds", 0) == 30


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"platform": "meta", "kind": "resource_exhausted", "nth": [1]}, "faults[0]"),
        ({"platform": "meta", "kind": "user_rate_limit"}, "faults[0]"),
        ({"platform": "meta", "kind": "user_rate_limit", "rate": 2}, "faults[0].rate"),
        ({"platform": "tiktok", "kind": "server_error", "nth": [1]}, "faults[0].platform"),
    ],
)
def test_bad_plans_are_refused_naming_the_field(rule: dict[str, object], field: str) -> None:
    with pytest.raises(FaultPlanError) as raised:
        FaultPlan.from_dict({"faults": [rule]})
    assert raised.value.problems[0].field == field


def test_plan_file_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text(
        "seed: 1\nfaults:\n  - platform: meta\n    kind: not_a_fault\n    nth: [1]\n", encoding="utf-8"
    )
    with pytest.raises(FaultPlanError) as raised:
        FaultPlan.load(path)
    problem = raised.value.problems[0]
    assert (problem.field, problem.line) == ("faults[0].kind", 4)
    path.write_text("faults:\n  - {platform: meta, kind: async_report_stall, nth: [1]}\n", encoding="utf-8")
    assert FaultPlan.load(path).rules[0].kind is FaultKind.ASYNC_REPORT_STALL


def test_request_log_records_and_filters(tmp_path: Path) -> None:
    log = RequestLog(tmp_path / "requests.jsonl")
    log.record("meta", "POST", "POST /act_1/campaigns", simulated_at=MARCH, outcome="ok", status=200)
    log.record(
        "google_ads",
        "RPC",
        "/x.GoogleAdsService/Mutate",
        simulated_at=MARCH,
        outcome="fault",
        status="RESOURCE_EXHAUSTED",
        fault=FaultKind.RESOURCE_EXHAUSTED,
    )
    assert len(log) == 2
    assert [entry.platform for entry in log.entries(fault="resource_exhausted")] == ["google_ads"]
    assert log.entries(platform="meta")[0].simulated_at == MARCH.isoformat()
    assert len((tmp_path / "requests.jsonl").read_text(encoding="utf-8").splitlines()) == 2
