"""Exact resume: a run killed (SIGKILL) in the middle of an epoch and started again ends exactly where an
uninterrupted run ends (every logged number, the saved weights, the CSV log); a finished run is left alone."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from crossdistill.cli import main
from crossdistill.data.corpus import load_corpus
from crossdistill.train.config import load_train_config
from crossdistill.train.run import train_intent

CONFIGS = Path(__file__).parents[2] / "configs" / "table1"
INTENT_STEP = "crossdistill.train.intent_module:IntentDistillationModule.training_step"


@pytest.fixture(autouse=True)
def restore_threads():
    """The commands below run in this process (only the killed run needs its own); they set torch's threads."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _cli(*args: str) -> int:
    """Run a command in this process: the run that resumes need not be another process than the uninterrupted
    one (the killed run is)."""
    return main([str(arg) for arg in args])


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def tree_digest(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: its content hash and modification time."""
    return {
        str(path.relative_to(folder)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def without_timing(metrics: dict) -> dict:
    return {key: value for key, value in metrics.items() if key != "wall_seconds"}


def assert_same_weights(a: Path, b: Path) -> None:
    first, second = load_file(a), load_file(b)
    assert first.keys() == second.keys()
    different = [name for name in first if not (first[name] == second[name]).all()]
    assert not different, f"weights differ: {different}"


def test_intent_run_killed_mid_epoch_resumes_to_the_uninterrupted_result(
    pipeline, run_killed, lengthen_killed_process, tmp_path
):
    epochs, batch_size = 4, 16
    overrides = pipeline.overrides(tmp_path / "straight", epochs=epochs, batch_size=batch_size)
    config = CONFIGS / "dropout_x_triangular.yaml"
    straight = train_intent(load_train_config(config, overrides))

    n_train = len(load_corpus(pipeline.corpus).splits["train"])
    per_epoch = math.ceil(n_train / batch_size)
    out = tmp_path / "killed"
    args = ["train", "--config", config, *pipeline.overrides(out, epochs=epochs, batch_size=batch_size)]
    killed = run_killed(INTENT_STEP, 2 * per_epoch + 3, *args)  # the third batch of epoch 3
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (out / "checkpoints" / "last.ckpt").is_file() and not (out / "metrics.json").exists()
    assert 0 < lengthen_killed_process(out / "checkpoints" / "last.ckpt", 1e6) < 600

    assert _cli(*args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert without_timing(metrics) == without_timing(straight)
    assert 1e6 < metrics["wall_seconds"] < 1e6 + 600  # the killed process's time counts
    assert_same_weights(out / "model" / "model.safetensors", tmp_path / "straight" / "model" / "model.safetensors")
    # The CSV log holds every epoch once, as the uninterrupted run's does (the killed epoch's rows are dropped).
    assert csv_rows(out / "logs" / "metrics.csv") == csv_rows(tmp_path / "straight" / "logs" / "metrics.csv")

    # Running the finished command again changes nothing, not even a timestamp.
    before = tree_digest(out)
    assert _cli(*args) == 0
    assert tree_digest(out) == before


PRETRAIN_STEP = "crossdistill.train.pretrain:AcousticPretrainer.training_step"


def test_pretraining_killed_mid_epoch_resumes_to_the_uninterrupted_result(tiny_corpus, run_killed, tmp_path):
    from crossdistill.train.pretrain import PretrainOptions, pretrain_acoustic

    settings = {"preset": "tiny", "frontend": "sincnet", "epochs": 3, "batch_size": 4, "lr": 0.01, "seed": 0}
    straight = pretrain_acoustic(
        PretrainOptions(corpus=str(tiny_corpus), out=str(tmp_path / "straight"), progress=False, threads=1,
                        accelerator="cpu", **settings)
    )  # fmt: skip
    per_epoch = math.ceil(len(load_corpus(tiny_corpus).splits["train"]) / settings["batch_size"])
    out = tmp_path / "killed"
    args = ["pretrain", "--corpus", tiny_corpus, "--out", out, "--quiet", "--threads", 1, "--accelerator", "cpu"]
    args += [item for key, value in settings.items() for item in (f"--{key.replace('_', '-')}", value)]
    killed = run_killed(PRETRAIN_STEP, per_epoch + 3, *args)  # the third batch of epoch 2
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (out / "checkpoints" / "last.ckpt").is_file() and not (out / "metrics.json").exists()

    assert _cli(*args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_after_epochs"] == 1
    volatile = ("seconds", "resumed_after_epochs")
    assert {k: v for k, v in metrics.items() if k not in volatile} == {
        k: v for k, v in straight.items() if k not in volatile
    }
    assert_same_weights(out / "model.safetensors", tmp_path / "straight" / "model.safetensors")
    log = Path("logs") / "csv" / "metrics.csv"
    assert csv_rows(out / log) == csv_rows(tmp_path / "straight" / log)

    before = tree_digest(out)
    assert _cli(*args) == 0
    assert tree_digest(out) == before


def test_teacher_training_killed_mid_epoch_resumes_to_the_uninterrupted_result(tiny_corpus, run_killed, tmp_path):
    from crossdistill.teachers.text import TrainOptions, build_corpus_examples, train_teacher

    corpus = load_corpus(tiny_corpus, check_audio=False)
    settings = {"arch": "scratch", "epochs": 4, "batch_size": 4, "seed": 0}
    straight = train_teacher(corpus, tmp_path / "straight", TrainOptions(threads=1, progress=False, **settings))
    per_epoch = math.ceil(len(build_corpus_examples(corpus)["train"]) / settings["batch_size"])
    out = tmp_path / "killed"
    args = ["teacher", "train", "--corpus", tiny_corpus, "--out", out, "--threads", 1, "--quiet"]
    args += [item for key, value in settings.items() for item in (f"--{key.replace('_', '-')}", value)]
    # clip_grad_norm_ runs once per training step.
    killed = run_killed("torch.nn.utils:clip_grad_norm_", 2 * per_epoch + 2, *args)  # the second batch of epoch 3
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not out.exists()

    assert _cli(*args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {k: v for k, v in metrics.items() if k != "train_seconds"} == {
        k: v for k, v in straight.items() if k != "train_seconds"
    }
    assert_same_weights(out / "model.safetensors", tmp_path / "straight" / "model.safetensors")
    log = (out / "train.log").read_text()
    assert "resuming after epoch 2 (of 4)" in log
    assert re.findall(r" epoch (\d+): train loss", log) == ["1", "2", "3", "4"]  # each epoch once, in order
    assert sorted(path.name for path in tmp_path.iterdir()) == ["killed", "straight"], "no work folder left"

    before = tree_digest(out)
    assert _cli(*args) == 0
    assert tree_digest(out) == before
