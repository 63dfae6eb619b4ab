import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from crossdistill.cli import main
from crossdistill.teachers.lm.config import load_lm_train_config
from crossdistill.teachers.lm.training import train_lm

from .conftest import write_units_folder

TRAINING_STEP = "crossdistill.teachers.lm.training:LMTrainingModule.training_step"
TINY = {"model.embedding_dim": 16, "model.hidden_dim": 32, "model.num_layers": 2, "batch_size": 16, "lr": 0.01,
        "threads": 1, "trainer.accelerator": "cpu", "trainer.progress_bar": "false"}  # fmt: skip


def _overrides(units: Path, unit: str, out: Path, **extra) -> list[str]:
    return [f"{k}={v}" for k, v in {"units": units, "unit": unit, "out": out, **TINY, **extra}.items()]


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run([sys.executable, "-m", "crossdistill.cli", *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The three LMs trained on the hand-made units folder (4 epochs each, seconds)."""
    root = tmp_path_factory.mktemp("lm_training")
    units = write_units_folder(root)
    runs = {}
    for unit in ("phone", "senone", "subword"):
        out = root / unit
        runs[unit] = (out, train_lm(load_lm_train_config(None, _overrides(units, unit, out, epochs=4))))
    return units, runs


@pytest.mark.parametrize("unit", ["phone", "senone", "subword"])
def test_each_lm_beats_the_unigram_baseline_by_far(trained, unit):
    _, runs = trained
    out, metrics = runs[unit]
    for part in ("valid", "dev"):
        assert metrics["perplexity"][part] < 0.5 * metrics["unigram_perplexity"][part], (part, metrics)
    assert json.loads((out / "metrics.json").read_text()) == metrics
    # metrics.json's held-out perplexity is the validation loop's at the selected epoch (same definition).
    selected = metrics["history"][metrics["selected_epoch"] - 1]
    assert metrics["perplexity"]["valid"] == pytest.approx(selected["valid_perplexity"], rel=1e-4)
    assert selected["valid_perplexity"] == min(r["valid_perplexity"] for r in metrics["history"])
    assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()


def test_a_finished_run_is_left_untouched_and_a_changed_one_refused(trained):
    units, runs = trained
    out, metrics = runs["phone"]
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = train_lm(load_lm_train_config(None, _overrides(units, "phone", out, epochs=4)))
    assert again == metrics
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps
    with pytest.raises(ValueError, match=r"other settings \(lr differ\)"):
        train_lm(load_lm_train_config(None, _overrides(units, "phone", out, epochs=4, lr=0.02)))


def test_config_errors_name_the_key_before_anything_is_written(tmp_path, units_folder):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="epochs"):
        load_lm_train_config(None, _overrides(units_folder, "phone", out, epochs=0))
    with pytest.raises(ValueError, match="hidden_dimm"):
        load_lm_train_config(None, _overrides(units_folder, "phone", out, **{"model.hidden_dimm": 3}))
    with pytest.raises(ValueError, match="unit must be one of"):
        load_lm_train_config(None, _overrides(units_folder, "word", out))
    with pytest.raises(ValueError, match="lacks"):
        load_lm_train_config(None, ["unit=phone"])
    (units_folder / "lm" / "phone.valid.txt").write_text("SIL AA ZZ SIL\n")
    with pytest.raises(ValueError, match=r"phone\.valid\.txt, line 1: 'ZZ' is not in the phone inventory"):
        train_lm(load_lm_train_config(None, _overrides(units_folder, "phone", out)))
    assert not out.exists()


def test_cli_trains_and_prints_one_json_line(tmp_path, shared_units, capsys):
    out = tmp_path / "subword"
    args = ["asr", "lm", "train", "--units", str(shared_units), "--unit", "subword", "--out", str(out)]
    assert main([*args, *[f"{k}={v}" for k, v in {**TINY, "epochs": 3}.items()]]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["unit"] == "subword" and line["perplexity"]["valid"] < line["unigram_perplexity"]["valid"]
    assert main(["asr", "lm", "train", "--units", str(tmp_path / "nowhere"), "--unit", "phone", "--out", str(out)]) == 2
    assert "not a finished units folder" in capsys.readouterr().err


def test_resume_after_a_kill_mid_epoch_equals_an_uninterrupted_run(tmp_path, units_folder, run_killed):
    # Dropout on, so that the test fails unless the resumed epoch replays the dropout masks and the batch order of
    # the uninterrupted run (it failed before the dropout seed and the bucketing epoch were made per epoch).
    extra = {"epochs": 3, "model.dropout": 0.3}
    train_lm(load_lm_train_config(None, _overrides(units_folder, "senone", tmp_path / "straight", **extra)))
    per_epoch = -(-400 // int(TINY["batch_size"]))  # the fixture's 400 LM-train sentences

    out = tmp_path / "killed"
    args = ["asr", "lm", "train", *_overrides(units_folder, "senone", out, **extra)]
    killed = run_killed(TRAINING_STEP, per_epoch + per_epoch // 2, *args)  # the middle of epoch 2
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not (out / "metrics.json").exists()
    assert torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["epoch"] == 0

    # The same command again (in this process: the code path of the CLI's rerun).
    train_lm(load_lm_train_config(None, _overrides(units_folder, "senone", out, **extra)))
    a = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    b = json.loads((out / "metrics.json").read_text())
    for record_a, record_b in zip(a["history"], b["history"], strict=True):
        for key in ("epoch", "train_loss", "valid_perplexity", "train_units"):
            assert record_a[key] == record_b[key], (key, record_a, record_b)
    assert a["perplexity"] == b["perplexity"] and a["selected_epoch"] == b["selected_epoch"]
    wa, wb = load_file(tmp_path / "straight" / "model.safetensors"), load_file(out / "model.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # train.log is appended to: epoch 1's line (from the killed run) is still there, and every epoch is logged once.
    log = (out / "train.log").read_text()
    assert "resuming from" in log
    assert [log.count(f'{{"epoch": {e},') for e in (1, 2, 3)] == [1, 1, 1]


@pytest.mark.ddp
def test_two_gloo_processes_train_the_same_lm_as_one(tmp_path, shared_units):
    # Unshuffled, unbucketed, no dropout: rank r takes sentences r, r + 2, ..., so the two processes' batches of 8
    # together are the one process's batch of 16, and the loss is the mean over the global batch's units. One
    # epoch: Adam amplifies the float rounding of the gradient all-reduce (~1e-6 after one epoch, ~1e-4 after two).
    common = {"epochs": 1, "shuffle": "false", "bucket_factor": 1, "model.dropout": 0.0}
    train_lm(load_lm_train_config(None, _overrides(shared_units, "phone", tmp_path / "one", batch_size=16,
                                                   **common)))  # fmt: skip
    ddp = {**common, "batch_size": 8, "trainer.devices": 2, "trainer.strategy": "ddp"}
    two = _cli("asr", "lm", "train", *_overrides(shared_units, "phone", tmp_path / "two", **ddp))
    assert two.returncode == 0, two.stderr[-2000:]
    a, b = load_file(tmp_path / "one" / "model.safetensors"), load_file(tmp_path / "two" / "model.safetensors")
    for key in a:
        assert torch.allclose(a[key], b[key], rtol=0, atol=2e-5), (key, float((a[key] - b[key]).abs().max()))
    ma, mb = (json.loads((tmp_path / run / "metrics.json").read_text()) for run in ("one", "two"))
    assert ma["history"][0]["train_units"] == mb["history"][0]["train_units"]
    assert ma["history"][0]["train_loss"] == pytest.approx(mb["history"][0]["train_loss"], rel=1e-6)
    assert ma["perplexity"]["valid"] == pytest.approx(mb["perplexity"]["valid"], rel=1e-5)
