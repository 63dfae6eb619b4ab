"""``crossdistill evaluate``: the errors of a trained student on a split, per intent and per slot, as JSON and
markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossdistill.cli import main
from crossdistill.train.config import load_train_config
from crossdistill.train.evaluate import score_predictions
from crossdistill.train.run import train_intent

CONFIGS = Path(__file__).parents[2] / "configs" / "table1"


def test_scores_count_whole_intents_and_each_slot():
    truth = [("on", "lamp", "hall"), ("on", "lamp", "hall"), ("off", "music", "none"), ("off", "music", "none")]
    predicted = [("on", "lamp", "hall"), ("on", "lamp", "room"), ("off", "lamp", "none"), ("off", "music", "none")]
    result = score_predictions(truth, predicted)
    assert result["intent_error"] == 0.5
    assert result["slot_errors"] == {"action": 0.0, "object": 0.25, "location": 0.25}
    assert result["per_intent"] == {
        "off/music/none": {"utterances": 2, "errors": 1, "error": 0.5},
        "on/lamp/hall": {"utterances": 2, "errors": 1, "error": 0.5},
    }
    assert sum(c["count"] for c in result["confusions"]) == 4
    assert {"true": "on/lamp/hall", "predicted": "on/lamp/room", "count": 1} in result["confusions"]
    with pytest.raises(ValueError, match="as many predictions"):
        score_predictions(truth, predicted[:3])


def test_evaluate_command_agrees_with_the_training_run(pipeline, tmp_path, capsys):
    run = tmp_path / "run"
    metrics = train_intent(load_train_config(CONFIGS / "vanilla.yaml", pipeline.overrides(run, epochs=2)))
    out = tmp_path / "evaluation"
    assert main(["evaluate", "--model", str(run), "--corpus", str(pipeline.corpus), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "test.json").read_text())
    # The saved model is the selected epoch's: its test error is the one the run reported for that epoch.
    assert printed["intent_error"] == saved["intent_error"] == pytest.approx(metrics["test_error"], abs=1e-6)
    assert saved["utterances"] == sum(row["utterances"] for row in saved["per_intent"].values())
    assert all(0 <= error <= saved["intent_error"] for error in saved["slot_errors"].values())
    table = (out / "test.md").read_text()
    assert f"| {100 * saved['intent_error']:.2f} |" in table and "Most frequent confusions" in table

    assert main(["evaluate", "--model", str(run), "--corpus", str(pipeline.corpus), "--split", "dev"]) == 2
    assert "--split 'dev' is unknown" in capsys.readouterr().err
