"""On a CUDA GPU (skipped without one; `pytest -m cuda` runs only these): every trainer runs unchanged with
``trainer.accelerator=gpu`` and agrees with the same run on the CPU after its first epoch to float tolerance (cuDNN's
TF32 convolutions and reordered sums keep it from being exact). Run on an H200 in development; CI has no GPU.

Two runs of one config give bit-identical results on the GPU for the paper-000 student, acoustic pre-training and the
hybrid AM, and these tests check it. The seq2seq model does not yet: in the same process after the other GPU tests,
each of three runs of this file had one seq2seq config whose twin differed in the last float32 bit of a logged CTC,
frame or token CE mean after an epoch, and then in its weights beyond rtol 1e-4; run alone (a fresh process), the
seq2seq tests and 5 supervised runs in a row were bit-identical. The cause is not established (docs/training.md);
bit-exact resume is tested on the CPU (train/asr/test_seq2seq_train.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from crossdistill.train.asr import hybrid, seq2seq
from crossdistill.train.config import load_train_config
from crossdistill.train.pretrain import PretrainOptions, pretrain_acoustic
from crossdistill.train.run import train_intent

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

ROOT = Path(__file__).parents[2]
# First-epoch losses on GPU and CPU agree to this relative tolerance (measured differences are far smaller; the
# bound is loose so that it catches a device bug, such as a mask or target left on the CPU, not rounding).
CPU_TOLERANCE = 0.02


def test_slu_student_with_dropout_confidence_trains_on_gpu(pipeline, tmp_path):
    config = ROOT / "configs" / "table1" / "dropout_x_triangular.yaml"

    def run(name: str, accelerator: str) -> dict:
        out = tmp_path / name
        return train_intent(
            load_train_config(config, pipeline.overrides(out, epochs=2, **{"trainer.accelerator": accelerator}))
        )

    first, second, cpu = run("gpu", "gpu"), run("gpu_again", "gpu"), run("cpu", "cpu")
    assert first["history"] == second["history"] and first["test_error"] == second["test_error"]
    assert all(math.isfinite(value) for record in first["history"] for value in record.values()
               if isinstance(value, float))  # fmt: skip
    assert first["history"][0]["train/loss"] == pytest.approx(cpu["history"][0]["train/loss"], rel=CPU_TOLERANCE)


def test_acoustic_pretraining_runs_on_gpu(pipeline, tmp_path):
    def run(name: str, accelerator: str) -> dict:
        options = PretrainOptions(corpus=str(pipeline.corpus), out=str(tmp_path / name), preset="tiny",
                                  frontend="logmel", epochs=1, lr=0.005, batch_size=16, progress=False, threads=1,
                                  accelerator=accelerator)  # fmt: skip
        return pretrain_acoustic(options)

    first, second, cpu = run("gpu", "gpu"), run("gpu_again", "gpu"), run("cpu", "cpu")
    assert (first["valid"], first["test"]) == (second["valid"], second["test"])
    assert first["valid"]["loss"] == pytest.approx(cpu["valid"]["loss"], rel=CPU_TOLERANCE)


@pytest.mark.parametrize("objective", ["supervised", "lst", "multitask"])
def test_seq2seq_trains_and_decodes_on_gpu_with_joint_ctc(asr_pipeline, tmp_path, objective):
    config = ROOT / "configs" / "asr" / "seq2seq" / f"{objective}.yaml"
    extra = {"ctc_weight": 0.3, "decode.ctc_weight": 0.3, "frame_weight": 0.5}
    if objective != "supervised":
        extra["objective.weight"] = 0.5

    def run(name: str, accelerator: str) -> dict:
        overrides = asr_pipeline.seq2seq_overrides(tmp_path / name, **extra, **{"trainer.accelerator": accelerator})
        return seq2seq.train(seq2seq.load_config(config, overrides))

    gpu, cpu = run("gpu", "gpu"), run("cpu", "cpu")
    # Decoding after GPU training: every test utterance decoded, as on the CPU.
    decoded = [(tmp_path / name / "hypotheses" / "test.tsv").read_text().splitlines() for name in ("gpu", "cpu")]
    assert len(decoded[0]) == len(decoded[1]) > 1 and math.isfinite(gpu["test_wer"])
    assert gpu["history"][0]["train"]["loss"] == pytest.approx(cpu["history"][0]["train"]["loss"], rel=CPU_TOLERANCE)


def test_hybrid_am_with_three_aux_heads_trains_on_gpu(asr_pipeline, tmp_path, without_throughput):
    config = ROOT / "configs" / "asr" / "hybrid" / "all.yaml"

    def run(name: str, accelerator: str) -> dict:
        overrides = asr_pipeline.hybrid_overrides(tmp_path / name, **{"trainer.accelerator": accelerator})
        return hybrid.train(hybrid.load_config(config, overrides))

    first, second, cpu = run("gpu", "gpu"), run("gpu_again", "gpu"), run("cpu", "cpu")
    _assert_same_training(tmp_path / "gpu", tmp_path / "gpu_again", first, second, without_throughput)
    assert first["history"][0]["train"]["loss"] == pytest.approx(cpu["history"][0]["train"]["loss"], rel=CPU_TOLERANCE)


def _assert_same_training(out: Path, again: Path, first: dict, second: dict, without_throughput) -> None:
    """Two ASR runs of one config: bit-identical weights and logged scores, the same epoch chosen."""
    a, b = load_file(str(out / "model" / "model.safetensors")), load_file(str(again / "model" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)
    assert first["selected_epoch"] == second["selected_epoch"]
    assert without_throughput(first["history"]) == without_throughput(second["history"])
