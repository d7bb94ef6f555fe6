"""`ad-emulators clock ...` sets the clock running emulators follow; `serve` checks its fault plan first."""

from __future__ import annotations

import datetime as dt

from ad_emulators.__main__ import main
from ad_emulators.clock import EmulatorClock
from ad_emulators.server import StateDirClock


def test_clock_set_advance_and_show(tmp_path, capsys):
    state = str(tmp_path)
    assert main(["clock", "set", "2022-03-25", "--state", state]) == 0
    assert main(["clock", "advance", "1.5", "--state", state]) == 0
    assert main(["clock", "show", "--state", state]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2022-03-26T12:00:00+00:00 (simulated)"
    assert EmulatorClock.load(tmp_path).now() == dt.datetime(2022, 3, 26, 12, tzinfo=dt.UTC)


def test_a_running_server_clock_follows_the_file(tmp_path):
    serving = StateDirClock(tmp_path)
    assert not serving.is_simulated
    main(["clock", "set", "2022-05-01T10:30:00+00:00", "--state", str(tmp_path)])
    assert serving.now() == dt.datetime(2022, 5, 1, 10, 30, tzinfo=dt.UTC)
    serving.set(dt.date(2022, 6, 1))  # its own changes persist for the next restart
    assert EmulatorClock.load(tmp_path).now() == dt.datetime(2022, 6, 1, tzinfo=dt.UTC)


def test_a_bad_date_is_a_user_error(tmp_path, capsys):
    assert main(["clock", "set", "25/03/2022", "--state", str(tmp_path)]) == 2
    assert "not a date" in capsys.readouterr().err


def test_serve_refuses_a_missing_fault_plan_before_starting(tmp_path, capsys):
    assert main(["serve", "--state", str(tmp_path), "--faults", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err
    assert not (tmp_path / "descriptor.json").exists()
