"""Exact resume: a hybrid AM run SIGKILLed in the middle of an epoch and started again with the same command ends with
the metrics, weights and CSV log of an uninterrupted run (SpecAugment and dropout on, all three KD heads)."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file

from crossdistill.data.asr.units import load_units
from crossdistill.train.asr.hybrid import load_config, train

CONFIG = Path(__file__).parents[3] / "configs" / "asr" / "hybrid" / "all.yaml"
TRAINING_STEP = "crossdistill.train.asr.hybrid_module:HybridTrainingModule.training_step"
TIMING = ("seconds", "train_frames_per_second", "frames_per_second")


def without_timing(value):
    if isinstance(value, dict):
        return {key: without_timing(item) for key, item in value.items() if key not in TIMING}
    if isinstance(value, list):
        return [without_timing(item) for item in value]
    return value


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_result(
    asr_pipeline, run_killed, lengthen_killed_process, tmp_path
):
    epochs, batch_size = 3, 4
    extra = {"epochs": epochs, "batch_size": batch_size}
    straight = train(load_config(CONFIG, asr_pipeline.hybrid_overrides(tmp_path / "straight", **extra)))

    per_epoch = math.ceil(len(load_units(asr_pipeline.units).frames("train").utt_ids) / batch_size)
    out = tmp_path / "killed"
    args = ["asr", "train", "--config", CONFIG, *asr_pipeline.hybrid_overrides(out, **extra)]
    killed = run_killed(TRAINING_STEP, per_epoch + 3, *args)  # the third batch of epoch 2
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (out / "checkpoints" / "last.ckpt").is_file() and not (out / "metrics.json").exists()
    assert 0 < lengthen_killed_process(out / "checkpoints" / "last.ckpt", 1e6) < 600

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    resumed = subprocess.run([sys.executable, "-m", "crossdistill.cli", *map(str, args)], capture_output=True,
                             text=True, env=env)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert without_timing(metrics) == without_timing(straight)
    assert 1e6 < metrics["seconds"] < 1e6 + 600  # the killed process's time counts
    first, second = (
        load_file(out / "model" / "model.safetensors"),
        load_file(tmp_path / "straight" / "model" / "model.safetensors"),
    )
    assert first.keys() == second.keys() and all((first[k] == second[k]).all() for k in first)
    assert csv_rows(out / "logs" / "metrics.csv") == csv_rows(tmp_path / "straight" / "logs" / "metrics.csv")
    assert "resuming from" in (out / "train.log").read_text()
