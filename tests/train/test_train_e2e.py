"""End to end on a tiny synthetic corpus: vanilla and KD training, logged lambda, predict, DDP.

Resume after a kill: test_resume.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from crossdistill.data.corpus import load_corpus
from crossdistill.kd import recip, triangular
from crossdistill.teachers.text.cache import TeacherCache
from crossdistill.train.config import load_train_config
from crossdistill.train.predict import predict_files
from crossdistill.train.run import train_intent

CONFIGS = Path(__file__).parents[2] / "configs" / "table1"


def _train(pipeline, cell: str, out: Path, **extra) -> dict:
    return train_intent(load_train_config(CONFIGS / f"{cell}.yaml", pipeline.overrides(out, **extra)))


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "crossdistill.cli", *args], capture_output=True, text=True, env=env)


def test_vanilla_beats_chance_and_predicts(pipeline, tmp_path):
    metrics = _train(pipeline, "vanilla", tmp_path / "vanilla", epochs=12, lr=0.005)
    n_intents = len(load_corpus(pipeline.corpus).labels.intents)
    assert metrics["policy"] == "vanilla"
    assert (tmp_path / "vanilla" / "metrics.json").is_file()
    assert (tmp_path / "vanilla" / "logs" / "metrics.csv").is_file()
    # Chance is 1/31 right; on unseen speakers the tiny student gets at least twice that.
    assert 1 - metrics["test_error"] > 2 / n_intents
    history = metrics["history"]
    assert history[-1]["train/error"] < history[0]["train/error"] - 0.1

    corpus = load_corpus(pipeline.corpus)
    wav = corpus.splits["test"][0].audio_path
    ((prediction, ok),) = predict_files(tmp_path / "vanilla", [wav])
    assert ok and prediction["action"] in corpus.labels.actions
    assert prediction["object"] in corpus.labels.objects and prediction["location"] in corpus.labels.locations
    assert 0 < prediction["intent_probability"] <= 1


def test_kd_run_logs_the_policy_lambda_at_each_epoch(pipeline, tmp_path):
    epochs = 4
    metrics = _train(pipeline, "dropout_x_triangular", tmp_path / "kd", epochs=epochs)
    corpus = load_corpus(pipeline.corpus)
    cache = TeacherCache.load(pipeline.teacher_cache)
    confidence = cache.lookup([u.utt_id for u in corpus.splits["train"]])["confidence/intent"].double()
    mean_recip = float(recip(confidence).mean())
    label = "logits/intent->intent"
    for record in metrics["history"]:
        expected = triangular(record["epoch"], epochs) * mean_recip
        assert record[f"lambda/{label}/mean"] == pytest.approx(expected, rel=1e-4, abs=1e-7)
    assert metrics["policy"] == "l1[triangular x dropout]"


def test_decision_alone_and_schedule_alone_lambdas(pipeline, tmp_path):
    metrics = _train(pipeline, "decay", tmp_path / "decay", epochs=2)
    label = "logits/intent->intent"
    assert [r[f"lambda/{label}/mean"] for r in metrics["history"]] == pytest.approx([1.0, float(torch.e) ** -1])
    assert all(r[f"lambda/{label}/std"] == pytest.approx(0.0, abs=1e-6) for r in metrics["history"])
    metrics = _train(pipeline, "error_rate", tmp_path / "err", epochs=1)
    record = metrics["history"][0]
    assert 0.0 <= record[f"lambda/{label}/mean"] <= 1.0


@pytest.mark.parametrize("scope", ["word", "all"])
def test_unfrozen_acoustic_layers_train_on_audio_batches_with_kd(pipeline, tmp_path, scope):
    epochs = 2
    metrics = _train(pipeline, "dropout_x_triangular", tmp_path / scope, epochs=epochs, unfreeze=scope)
    assert [r["epoch"] for r in metrics["history"]] == [1, 2]
    # The teacher tensors reach the loss through the audio batches just as through the cached ones.
    corpus = load_corpus(pipeline.corpus)
    confidence = TeacherCache.load(pipeline.teacher_cache).lookup([u.utt_id for u in corpus.splits["train"]])
    mean_recip = float(recip(confidence["confidence/intent"].double()).mean())
    for record in metrics["history"]:
        lam = record["lambda/logits/intent->intent/mean"]
        assert lam == pytest.approx(triangular(record["epoch"], epochs) * mean_recip, rel=1e-4)

    pretrained = load_file(pipeline.acoustic / "model.safetensors")
    trained = load_file(tmp_path / scope / "model" / "model.safetensors")
    changed = {key for key, value in pretrained.items() if not torch.equal(value, trained[f"acoustic.{key}"])}
    trainable = ("word_layers.",) if scope == "word" else ("frontend.", "phoneme_layers.", "word_layers.")
    assert changed, "an unfrozen acoustic module must change"
    assert all(key.startswith(trainable) for key in changed), sorted(changed)
    if scope == "all":
        assert any(key.startswith("frontend.") for key in changed)
        assert any(key.startswith("phoneme_layers.") for key in changed)


def test_ddp_two_processes_agree_with_one(pipeline, tmp_path):
    common = {"epochs": 2, "shuffle": "false", "intent.dropout": 0.0, "optimizer": "sgd", "lr": 0.5}
    one = _cli("train", "--config", str(CONFIGS / "vanilla.yaml"),
               *pipeline.overrides(tmp_path / "one", batch_size=16, **common))  # fmt: skip
    assert one.returncode == 0, one.stderr[-2000:]
    two = _cli("train", "--config", str(CONFIGS / "vanilla.yaml"),
               *pipeline.overrides(tmp_path / "two", batch_size=8, **common, **{"trainer.devices": 2,
                                   "trainer.strategy": "ddp"}))  # fmt: skip
    assert two.returncode == 0, two.stderr[-2000:]
    a = load_file(tmp_path / "one" / "model" / "model.safetensors")
    b = load_file(tmp_path / "two" / "model" / "model.safetensors")
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5), key
    ma = json.loads((tmp_path / "one" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert [r["valid/error"] for r in ma["history"]] == pytest.approx([r["valid/error"] for r in mb["history"]])


def test_ddp_trains_an_unfrozen_acoustic_module(pipeline, tmp_path):
    # Every trainable parameter must get a gradient on each rank, or DDP stops with "unused parameters".
    completed = _cli("train", "--config", str(CONFIGS / "dropout.yaml"),
                     *pipeline.overrides(tmp_path / "ddp", epochs=1, batch_size=8, unfreeze="all",
                                         **{"trainer.devices": 2, "trainer.strategy": "ddp"}))  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert metrics["history"][0]["epoch"] == 1 and "lambda/logits/intent->intent/mean" in metrics["history"][0]


def test_bad_inputs_give_clear_errors(pipeline, tmp_path):
    with pytest.raises(ValueError, match="teacher_cache is not set"):
        _train(pipeline, "dropout", tmp_path / "a", teacher_cache="null")
    with pytest.raises(FileNotFoundError, match="teacher cache"):
        _train(pipeline, "dropout", tmp_path / "b", teacher_cache=tmp_path / "missing")
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("objective:\n  terms:\n    - {teacher_output: logits/intent, student_head: intent, "
                          "policy: {schedule: cosine}}\n")  # fmt: skip
    completed = _cli("train", "--config", str(bad_config), *pipeline.overrides(tmp_path / "c"))
    assert completed.returncode == 2 and "unknown schedule 'cosine'" in completed.stderr
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    _train(pipeline, "vanilla", tmp_path / "v", epochs=1)
    completed = _cli("predict", "--model", str(tmp_path / "v"), str(broken))
    assert completed.returncode == 1 and "broken.wav" in json.loads(completed.stdout)["error"]
