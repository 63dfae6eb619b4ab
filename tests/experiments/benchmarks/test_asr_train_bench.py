import argparse
from pathlib import Path

import numpy as np
import pytest

from crossdistill.cli import main
from crossdistill.experiments.benchmarks import asr_train
from crossdistill.train.asr.hybrid import load_config, train

CONFIGS = Path(__file__).parents[3] / "configs" / "asr" / "hybrid"
TINY = {"batch_size": 2, "seconds": 0.5, "senones": 30, "subwords": 20, "top_k": 8, "steps": 1, "rounds": 1,
        "d_model": 16, "layers": 1, "threads": 1, "seed": 0}  # fmt: skip


def test_bench_asr_train_times_both_settings_on_the_same_frames():
    result = asr_train.run(argparse.Namespace(**TINY))
    assert 80 <= result["batch"]["frames"] <= 120  # two utterances of 0.5 s +-20 %
    for name in ("baseline", "kd"):
        seconds = result[f"{name}_step_seconds"]
        assert seconds > 0
        assert result[f"{name}_frames_per_second"] == pytest.approx(result["batch"]["frames"] / seconds, rel=1e-2)
    ratio = result["kd_step_seconds"] / result["baseline_step_seconds"]
    assert result["kd_overhead"] == pytest.approx(ratio, rel=1e-2)
    assert result["meets_target"] == (result["kd_overhead"] <= 1.15)
    assert result["decode"].startswith("not measured: give --decode-run")


def test_the_decoding_rtf_comes_from_a_copy_of_a_trained_run(asr_pipeline, tmp_path):
    run = tmp_path / "run"
    train(load_config(CONFIGS / "baseline.yaml", asr_pipeline.hybrid_overrides(run, epochs=1)))
    files = {path: path.stat().st_mtime_ns for path in run.rglob("*")}
    args = argparse.Namespace(**TINY, decode_run=run, decode_corpus=asr_pipeline.corpus, decode_split="dev",
                              features_cache=asr_pipeline.features_cache)  # fmt: skip
    decoded = asr_train.run(args)["decode"]
    assert decoded["split"] == "dev" and decoded["utterances"] == 5 and decoded["audio_seconds"] > 0
    assert decoded["rtf"] > 0 and decoded["rtf"] == pytest.approx(decoded["am_rtf"] + decoded["search_rtf"], abs=3e-6)
    assert {path: path.stat().st_mtime_ns for path in run.rglob("*")} == files  # nothing written into the run
    with pytest.raises(ValueError, match="--decode-run and --decode-corpus go together"):
        asr_train.run(argparse.Namespace(**TINY, decode_run=run, decode_corpus=None))


def test_the_synthetic_batch_is_what_a_run_feeds_the_model():
    args = argparse.Namespace(batch_size=3, seconds=0.4, top_k=5, seed=0)

    items = asr_train.make_items(args, {"senone": 30, "phone": 41, "subword": 20}, np.random.default_rng(0))
    for item in items:
        frames = item["features"].shape[0]
        assert item["senone"].shape == (frames,)
        for unit, size in (("senone", 30), ("phone", 41), ("subword", 20)):
            rows = item["teacher/" + unit]
            assert int(rows.segment_lengths.sum()) == frames and (rows.segment_lengths >= 1).all()
            assert rows.top_ids.shape == rows.probs.shape == (len(rows.segment_lengths), 5)
            assert int(rows.top_ids.max()) < size and rows.probs.sum(-1).allclose(rows.probs.new_ones(1))


def test_the_command_is_registered(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "asr-train", "--help"])
    assert exit_info.value.code == 0
    assert "--top-k" in capsys.readouterr().out
