"""A miniature Table I grid on the tiny pipeline: runs, resumes without redoing finished runs, and reports; its
declared primary comparisons are recorded before the first run and fixed from then on."""

from __future__ import annotations

import json

import pytest

from crossdistill.experiments import grid as grid_module
from crossdistill.experiments.grid import GRID_FILE, METRICS_FILE, plan_grid, run_grid
from crossdistill.experiments.report import collect_results, write_report


def test_miniature_grid_resumes_and_reports(pipeline, mini_grid, tmp_path):
    grid = mini_grid
    out = tmp_path / "grid"
    overrides = [f"corpus={pipeline.corpus}", f"acoustic={pipeline.acoustic}",
                 f"teacher_cache={pipeline.teacher_cache}", f"teacher_dir={pipeline.teacher}"]  # fmt: skip
    run_grid(grid, [0, 1], out, overrides)
    metrics = sorted(out.glob("*/seed*/metrics.json"))
    assert len(metrics) == 4

    # Interrupt one run (as if killed before it finished); the others must not be redone.
    redo = out / "dropout_x_triangular" / "seed1" / "metrics.json"
    redo.unlink()
    kept = {p: p.stat().st_mtime_ns for p in metrics if p != redo}
    info = run_grid(grid, [0, 1], out, overrides)
    assert redo.is_file()
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert info["finished_runs"] == 4

    results = collect_results(out)
    assert set(results) == {"vanilla", "dropout_x_triangular"}
    assert all(len(r.test_errors) == 2 for r in results.values())
    text = write_report(out).read_text()
    assert "| No distillation | Vanilla |" in text
    assert "| Scheduling: Triangular (6b) | n/a | n/a |" in text
    assert "Teacher (text)" in text
    # Real runs write their per-utterance test correctness, so the utterance-level test is available.
    assert all(len(r.test_correct) == 2 for r in results.values())
    assert "| dropout_x_triangular | 2 |" in text.split("(test-set sampling)", 1)[1]
    assert "not testable with 2 seeds (needs 3)" in text
    assert (out / "teacher_uncertainty.png").is_file()


def test_grid_refuses_a_changed_configuration(pipeline, mini_grid, tmp_path):
    grid = mini_grid
    base = [f"corpus={pipeline.corpus}", f"acoustic={pipeline.acoustic}", f"teacher_cache={pipeline.teacher_cache}"]
    plan_grid(grid, [0], tmp_path / "g", base)
    with pytest.raises(ValueError, match="another configuration"):
        plan_grid(grid, [0], tmp_path / "g", [*base, "lr=0.1"])


def test_a_misspelled_policy_in_any_cell_stops_the_grid_before_anything_is_written(mini_grid, tmp_path):
    typo = tmp_path / "typo.yaml"
    typo.write_text("objective:\n  terms:\n    - {teacher_output: logits/intent, student_head: intent, "
                    "policy: {schedule: triangular, decision: dropuot}}\n")  # fmt: skip
    grid = tmp_path / "grid_with_typo.yaml"
    grid.write_text(mini_grid.read_text() + f"  typo: {typo}\n")
    out = tmp_path / "g"
    with pytest.raises(ValueError, match=r"cell 'typo'.*unknown weight decision 'dropuot'"):
        plan_grid(grid, [0, 1], out, ["corpus=/c", "acoustic=/a"])
    assert not out.exists() or not any(out.rglob("*")), "no run config is written when any cell is bad"


def test_a_grid_planned_before_a_config_key_existed_still_matches(mini_grid, tmp_path):
    from omegaconf import OmegaConf

    base = ["corpus=/c", "acoustic=/a"]
    runs, _ = plan_grid(mini_grid, [0], tmp_path / "g", base)
    older = OmegaConf.to_container(OmegaConf.load(runs[0].config_path))
    del older["specaugment"]  # the key came with issue 15; the run was planned before it
    runs[0].config_path.write_text(OmegaConf.to_yaml(OmegaConf.create(older)))
    text = runs[0].config_path.read_text()
    plan_grid(mini_grid, [0], tmp_path / "g", base)
    assert runs[0].config_path.read_text() == text
    with pytest.raises(ValueError, match="another configuration"):
        plan_grid(mini_grid, [0], tmp_path / "g", [*base, "specaugment.p=0.5"])


def test_the_primary_comparisons_are_on_disk_before_the_first_run_and_cannot_change_on_a_resume(
    mini_grid, tmp_path, monkeypatch
):
    declared = tmp_path / "declared.yaml"
    declared.write_text(mini_grid.read_text() + "primary:\n  - [dropout_x_triangular, vanilla]\n")
    out, overrides = tmp_path / "g", ["corpus=/c", "acoustic=/a"]
    seen = []

    def train(run):  # instead of a real run: what grid.json holds when it starts, then a finished run
        seen.append(json.loads((out / GRID_FILE).read_text()))
        if len(seen) == 2:
            raise KeyboardInterrupt  # the grid is killed in its second run
        (run.out / METRICS_FILE).write_text("{}")

    monkeypatch.setattr(grid_module, "_prepare_shared_caches", lambda run: None)
    monkeypatch.setattr(grid_module, "_train_in_process", train)
    with pytest.raises(KeyboardInterrupt):
        run_grid(declared, [0], out, overrides)
    assert [state["primary"] for state in seen] == [[["dropout_x_triangular", "vanilla"]]] * 2
    assert [state["finished_runs"] for state in seen] == [0, 1]  # the first run's end was recorded before the kill
    assert seen[1]["wall_seconds"] >= seen[0]["wall_seconds"] >= 0

    changed = tmp_path / "changed.yaml"
    changed.write_text(mini_grid.read_text() + "primary:\n  - [vanilla, dropout_x_triangular]\n")
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    with pytest.raises(ValueError, match=r"declares the primary comparisons .* fixed before the first run"):
        run_grid(changed, [0, 1], out, overrides)
    with pytest.raises(ValueError, match=r"declares the primary comparisons .* fixed before the first run"):
        run_grid(mini_grid, [0], out, overrides)  # dropping them is a change too
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before
    assert run_grid(declared, [0], out, overrides)["finished_runs"] == 2  # the same declaration resumes
