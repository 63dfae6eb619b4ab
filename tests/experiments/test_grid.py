"""A miniature Table I grid on the tiny pipeline: runs, resumes without redoing finished runs, and reports."""

from __future__ import annotations

import pytest

from crossdistill.experiments.grid import plan_grid, run_grid
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
