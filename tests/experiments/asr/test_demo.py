"""The demo's paper-001 part at toy size: every stage runs, the table holds both cells with the numbers their runs
wrote, it says what one seed can and cannot say, and a second call reuses everything."""

from __future__ import annotations

import json

import pytest

from crossdistill.experiments.asr.demo import AsrDemoSettings, run_asr_demo
from crossdistill.experiments.asr.setup import AsrSetupSettings
from crossdistill.experiments.asr.table1 import DecodeSettings

TOY_LM = ("model.embedding_dim=16", "model.hidden_dim=32", "model.num_layers=1", "epochs=1", "trainer.accelerator=cpu")
TOY_AM = ("model.d_model=32", "model.num_layers=1", "model.num_heads=2", "model.ff_dim=64", "model.conv_channels=4",
          "batch_size=4", "eval_batch_size=8", "epochs=1", "warmup_steps=5", "trainer.accelerator=cpu")  # fmt: skip


def test_the_asr_demo_runs_every_stage_prints_its_table_and_reuses_its_folder(tmp_path, capsys):
    settings = AsrDemoSettings(
        setup=AsrSetupSettings(preset="tiny", senones=150, subwords=100, min_leaf_frames=20, lm_overrides=TOY_LM),
        train_overrides=TOY_AM,
        decode=DecodeSettings(lm_weights=(4.0,), word_scores=(0.0,), beam=16),
    )
    out = tmp_path / "asr"
    results = run_asr_demo(out, settings)
    printed = capsys.readouterr().out
    for stage in ("synthesizing the 'tiny' ASR corpus", "training the subword LM teacher", "training and decoding all"):
        assert stage in printed
    assert list(results["cells"]) == ["baseline", "all"]
    for cell, numbers in results["cells"].items():
        run = out / "runs" / cell / "seed0"
        metrics = json.loads((run / "metrics.json").read_text())
        decoded = json.loads((run / "decode" / "test.json").read_text())
        assert numbers["test_frame_accuracy"] == pytest.approx(100 * metrics["test_frame_accuracy"])
        assert numbers["test_wer"] == pytest.approx(100 * decoded["wer"])
        assert metrics["distill"] == ([] if cell == "baseline" else ["senone", "phone", "subword"])
    comparison = results["comparison"]
    assert comparison["seed_test"] == "not testable with 1 seed (needs 3)"
    assert comparison["better"] + comparison["worse"] + comparison["tied"] == comparison["utterances"] == 5
    table = (out / "results.md").read_text()
    base = results["cells"]["baseline"]
    row = f"| baseline: senone CE only | {base['test_frame_accuracy']:.2f} | {base['dev_frame_accuracy']:.2f} |"
    assert row in table
    assert "| + senone, phone, subword LMs |" in table
    assert "What one seed can say" in table and "What it cannot say" in table
    assert "crossdistill asr benchmark table1 --out runs/table1 --seeds 0,1,2" in printed
    assert (out / "report.md").is_file()

    again = run_asr_demo(out, settings)
    assert "2 runs, 2 finished, 0 to do" in capsys.readouterr().out
    assert again["cells"] == results["cells"]
    assert again["timings_s"]["runs"] >= results["timings_s"]["runs"]  # summed over calls
