"""``crossdistill pretrain`` from the command line: a short log-mel run and clean user errors."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from crossdistill.cli import main


@pytest.fixture(autouse=True)
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_pretrain_command_writes_module_and_metrics(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "acoustic"
    argv = ["pretrain", "--corpus", str(tiny_corpus), "--out", str(out), "--preset", "tiny"]
    argv += ["--frontend", "logmel", "--epochs", "1", "--batch-size", "4", "--max-utterances", "6"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--threads", "1", "--quiet"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert printed["test"] == metrics["test"] and set(metrics["valid"]) >= {"phoneme_frame_accuracy"}
    assert metrics["utterances"] == {"train": 6, "valid": 4, "test": 4}
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "acoustic" and config["frontend"] == "logmel"


def test_pretrain_command_errors_are_clean(tiny_corpus, tmp_path, capsys):
    copy = tmp_path / "no_alignments"
    shutil.copytree(tiny_corpus, copy, ignore=shutil.ignore_patterns("*_alignments.jsonl"))
    assert main(["pretrain", "--corpus", str(copy), "--out", str(tmp_path / "o")]) == 2
    assert "has no word/phoneme alignments" in capsys.readouterr().err
    assert main(["pretrain", "--corpus", str(tiny_corpus), "--out", str(tmp_path / "o"), "--preset", "huge"]) == 2
    assert "--preset 'huge' is unknown" in capsys.readouterr().err
    assert main(["pretrain", "--corpus", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "is not a folder" in capsys.readouterr().err
