"""``crossdistill asr train``: dispatch on the config's recipe, JSON summary, clean errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from crossdistill.cli import main

CONFIGS = Path(__file__).parents[2] / "configs" / "asr" / "hybrid"


def test_a_hybrid_cell_trains_and_prints_its_summary(asr_pipeline, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["asr", "train", "--config", str(CONFIGS / "subword.yaml"), *asr_pipeline.hybrid_overrides(out, epochs=1)]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    metrics = json.loads((out / "metrics.json").read_text())
    assert summary["recipe"] == "hybrid" and summary["distill"] == ["subword"]
    assert summary["test_frame_accuracy"] == metrics["test_frame_accuracy"]
    assert set(metrics["history"][0]["dev"]["kd"]) == {"subword"}


def test_errors_are_reported_cleanly(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("recipe: nope\n")
    assert main(["asr", "train", "--config", str(bad)]) == 2
    assert "unknown recipe 'nope'; known: " in capsys.readouterr().err
    assert main(["asr", "train", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml does not exist" in capsys.readouterr().err
    assert main(["asr", "train", "--config", str(CONFIGS / "all.yaml"), "corpus=C", "units=U", "out=O"]) == 2
    assert "neither teachers.senone.lm nor lms is set" in capsys.readouterr().err
    assert not (Path("O")).exists()
