"""The README's main job at toy size: every stage runs and the results table lists the teacher and both students."""

from __future__ import annotations

import json

from crossdistill.experiments.demo import DemoSettings, run_demo
from crossdistill.experiments.setup import SetupSettings


def test_demo_runs_every_stage_and_prints_its_table(tmp_path, capsys):
    setup = SetupSettings(corpus_preset="tiny", student_preset="tiny", pretrain_epochs=1, teacher_arch="scratch",
                          teacher_epochs=2, jobs=1)  # fmt: skip
    # asr=None: paper 001's part has its own test (tests/experiments/asr/test_demo.py)
    results = run_demo(tmp_path / "demo", DemoSettings(setup=setup, student_epochs=1, asr=None))
    assert set(results["students"]) == {"vanilla", "dropout_x_triangular"}
    assert json.loads((tmp_path / "demo" / "results.json").read_text())["settings"]["setup"]["corpus_preset"] == "tiny"
    table = (tmp_path / "demo" / "results.md").read_text()
    assert "| student: vanilla |" in table and "| student: dropout_x_triangular |" in table
    assert "crossdistill grid --config configs/grid/table1.yaml" in capsys.readouterr().out
    assert (tmp_path / "demo" / "confidence_simulation").is_dir()
