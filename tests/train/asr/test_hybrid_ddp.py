"""Two gloo processes train the same hybrid AM as one: the loss is the mean over every frame of the global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crossdistill.train.asr.hybrid import load_config, train

CONFIG = Path(__file__).parents[3] / "configs" / "asr" / "hybrid" / "phone_subword.yaml"
# No randomness (dropout, SpecAugment) and no shuffling or bucketing: one process with batches of 4 utterances sees
# exactly the utterances that two processes with batches of 2 see together (DistributedSampler deals them in turn).
EXACT = {"model.dropout": 0.0, "specaugment.enabled": "false", "shuffle": "false", "bucket_factor": 1}


@pytest.mark.ddp
def test_two_gloo_processes_train_the_same_model_as_one(asr_pipeline, tmp_path):
    one = train(load_config(CONFIG, asr_pipeline.hybrid_overrides(tmp_path / "one", batch_size=4, **EXACT)))
    two_out = tmp_path / "two"
    ddp = {**EXACT, "batch_size": 2, "trainer.devices": 2, "trainer.strategy": "ddp"}
    args = ["asr", "train", "--config", CONFIG, *asr_pipeline.hybrid_overrides(two_out, **ddp)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    run = subprocess.run([sys.executable, "-m", "crossdistill.cli", *map(str, args)], capture_output=True, text=True,
                         env=env, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    two = json.loads((two_out / "metrics.json").read_text())
    for a, b in zip(one["history"], two["history"], strict=True):
        assert a["train"]["frames"] == b["train"]["frames"]  # every training frame counted once across processes
        for role in ("train", "dev", "test"):
            assert b[role]["loss"] == pytest.approx(a[role]["loss"], rel=1e-6), role
            assert b[role]["kd"] == pytest.approx(a[role]["kd"], rel=1e-6), role
            assert b[role]["frame_accuracy"] == pytest.approx(a[role]["frame_accuracy"], abs=1e-3), role
