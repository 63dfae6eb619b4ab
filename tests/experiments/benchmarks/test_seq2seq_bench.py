"""``crossdistill bench seq2seq``: one JSON object with every objective's training speed and the decoding RTF."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from crossdistill.cli import main
from crossdistill.experiments.benchmarks import seq2seq

TINY = {"batch_size": 2, "seconds": 0.6, "tokens_per_second": 5.0, "subwords": 30, "steps": 1, "rounds": 1,
        "decode_utterances": 2, "beam": 3, "ctc_weight": 0.4, "d_model": 16, "encoder_layers": 1, "decoder_layers": 1,
        "threads": 1, "seed": 0}  # fmt: skip


def test_the_synthetic_items_are_what_a_run_feeds_the_model():
    args = argparse.Namespace(**TINY)
    for item in seq2seq.make_items(args, np.random.default_rng(0), 4):
        tokens = item["tokens"]
        assert item["teacher"].shape == (len(tokens) + 1, 30)  # a row per target and one for </s>
        assert item["teacher"].sum(-1).allclose(item["teacher"].new_ones(1))
        assert int(tokens.min()) >= seq2seq.FIRST_PIECE and int(tokens.max()) < 30  # no special piece as a target
        assert 48 <= item["features"].shape[0] <= 72  # 0.6 s +- 20 %


def test_every_objective_is_timed_and_the_overheads_are_their_ratios(capsys):
    assert main(["bench", "seq2seq", *(f"--{k.replace('_', '-')}={v}" for k, v in TINY.items())]) == 0
    result = json.loads(capsys.readouterr().out)
    seconds = result["train_step_seconds"]
    assert set(seconds) == {"supervised", "lst", "multitask"} and all(v > 0 for v in seconds.values())
    for name, value in seconds.items():
        assert result["train_utterances_per_second"][name] == pytest.approx(2 / value)
    for name in ("lst", "multitask"):
        assert result["overhead_vs_supervised"][name] == pytest.approx(seconds[name] / seconds["supervised"])
    decoding = result["decode_real_time_factor"]
    assert set(decoding) == {"beam1", "beam3", "beam3_joint_ctc0.4"} and all(v > 0 for v in decoding.values())
    assert result["joint_ctc_over_attention"] == pytest.approx(decoding["beam3_joint_ctc0.4"] / decoding["beam3"])
    assert result["settings"]["ctc_weight"] == 0.4
