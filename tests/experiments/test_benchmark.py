"""``crossdistill benchmark`` end to end at toy size: setup, a two-cell grid, the report; a second call resumes."""

from __future__ import annotations

import json

from crossdistill.experiments.benchmark import run_benchmark
from crossdistill.experiments.setup import SetupSettings


def test_benchmark_builds_the_setup_runs_the_grid_and_resumes(mini_grid, tmp_path):
    settings = SetupSettings(corpus_preset="tiny", student_preset="tiny", pretrain_epochs=1, teacher_arch="scratch",
                             teacher_epochs=2, jobs=1)  # fmt: skip
    grid = mini_grid
    out = tmp_path / "bench"
    summary = run_benchmark(out, settings, seeds=(0,), grid_config=grid, overrides=("epochs=1",))
    assert (out / "grid" / "report.md").is_file()
    assert sorted(p.parent.parent.name for p in out.glob("grid/*/seed0/metrics.json")) == [
        "dropout_x_triangular",
        "vanilla",
    ]
    assert set(summary["teacher_text_error"]) == {"train", "valid", "test"}
    assert json.loads((out / "benchmark.json").read_text())["seeds"] == [0]

    finished = {p: p.stat().st_mtime_ns for p in out.glob("grid/*/seed0/metrics.json")}
    run_benchmark(out, settings, seeds=(0,), grid_config=grid, overrides=("epochs=1",))
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
