"""A benchmark's bookkeeping: planned run configs are written once and a changed one is refused before anything is
written; the state file refuses other settings, lists commits and sums wall time over restarts."""

from __future__ import annotations

import json

import pytest

from crossdistill.experiments.asr import bookkeeping
from crossdistill.experiments.asr.bookkeeping import add_seconds, code_commit, record_settings, write_planned_configs


def test_planned_configs_are_kept_and_a_changed_plan_is_refused_before_any_write(tmp_path):
    a, b = tmp_path / "runs" / "a" / "seed0.yaml", tmp_path / "runs" / "b" / "seed0.yaml"
    write_planned_configs({a: "epochs: 1\n"})
    write_planned_configs({a: "epochs: 1\n", b: "epochs: 1\n"})  # the same plan plus a new run
    assert a.read_text() == b.read_text() == "epochs: 1\n"
    b.unlink()
    with pytest.raises(ValueError, match=f"{a} was planned with other settings; .* {a.with_suffix('')}"):
        write_planned_configs({b: "epochs: 1\n", a: "epochs: 2\n"})
    assert not b.exists() and a.read_text() == "epochs: 1\n"


def test_the_state_file_refuses_other_settings_and_sums_wall_time(tmp_path):
    state = tmp_path / "grid.json"
    record_settings(state, {"decode": {"beam": 8}}, {"decode": {"beam": 8}, "jobs": 1}, "grid")
    add_seconds(state, "runs", 1.25)
    record_settings(state, {"decode": {"beam": 8}}, {"decode": {"beam": 8}, "jobs": 2}, "grid")
    add_seconds(state, "runs", 2.0)
    data = json.loads(state.read_text())
    assert data["wall_seconds"] == {"runs": 3.2} and data["settings"]["jobs"] == 2
    assert data["commits"] == [code_commit()] and code_commit() != "unknown"
    with pytest.raises(ValueError, match="holds a grid with other settings \\(decode differ\\)"):
        record_settings(state, {"decode": {"beam": 4}}, {}, "grid")


def test_a_stage_killed_part_way_keeps_its_time_up_to_the_last_finished_run(tmp_path, monkeypatch):
    now = iter([10.0, 12.5, 16.0, 100.0])  # start, run 1 done, run 2 done; the process dies in run 3
    monkeypatch.setattr(bookkeeping.time, "perf_counter", lambda: next(now))
    state = tmp_path / "fig3.json"
    add_seconds(state, "runs", 4.0)  # an earlier invocation
    clock = bookkeeping.StageClock(state, "runs")
    clock.tick()
    clock.tick()
    assert json.loads(state.read_text())["wall_seconds"] == {"runs": 10.0}
