"""Fixtures shared across the test tree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

# The tiny synthetic corpus every data-consuming test can share: 6 speakers x 4 utterances (4/1/1 speakers
# in train/valid/test), synthesized once per test session with two worker processes.
TINY_CORPUS_OPTIONS = {"preset": "tiny", "speakers": 6, "utterances_per_speaker": 4, "seed": 0}


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root of a tiny synthetic corpus in the FSC layout (with alignments); treat it as read-only."""
    from crossdistill.data.synth import synthesize_corpus

    root = tmp_path_factory.mktemp("tiny_corpus") / "corpus"
    return synthesize_corpus(root, jobs=2, progress=False, **TINY_CORPUS_OPTIONS)


@pytest.fixture(scope="session")
def asr_tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Paper 001's tiny synthetic corpus (preset ``tiny``, seed 0, two workers), made once per session for the data
    and LM-teacher tests alike; treat it as read-only."""
    from crossdistill.data.asr.synth import synthesize_asr_corpus

    return synthesize_asr_corpus(tmp_path_factory.mktemp("asr_tiny") / "corpus", "tiny", seed=0, jobs=2, progress=False)


# Paper 001's tiny chain on that corpus, built once per session in seconds for the acoustic-model, decoding and
# alignment tests: units (150 senones, 100 subwords), the fbank cache, an LSTM LM per unit (1 epoch, tiny sizes) and
# each LM's frame-wise posterior cache (top-32, at the LM's default place, LM/posteriors/<key>).
ASR_UNITS_OPTIONS = {"senones": 150, "subwords": 100, "min_leaf_frames": 20}
ASR_LM_OPTIONS = {"model.embedding_dim": 16, "model.hidden_dim": 32, "model.num_layers": 1, "epochs": 1,
                  "batch_size": 32, "threads": 1, "trainer.accelerator": "cpu",
                  "trainer.progress_bar": "false"}  # fmt: skip
# What the tiny hybrid and seq2seq runs share: an encoder of width 32, 2 epochs, one thread on the CPU.
_TINY_ASR_RUN = {"model.d_model": 32, "model.num_heads": 2, "model.ff_dim": 64, "model.conv_channels": 4,
                 "batch_size": 4, "eval_batch_size": 8, "epochs": 2, "warmup_steps": 5, "lr": 0.002, "threads": 1,
                 "trainer.accelerator": "cpu", "trainer.progress_bar": "false",
                 "trainer.log_every_n_steps": 1}  # fmt: skip
# A hybrid AM small enough to train an epoch of the tiny corpus in about a second on one thread.
HYBRID_TINY_OVERRIDES = {**_TINY_ASR_RUN, "model.num_layers": 1}
# A seq2seq model (paper 001's Fig. 3) of the same scale, decoded with beam 2.
SEQ2SEQ_TINY_OVERRIDES = {**_TINY_ASR_RUN, "model.encoder_layers": 1, "model.decoder_layers": 1, "decode.beam": 2,
                          "decode.max_tokens": 40}  # fmt: skip


def _as_overrides(settings: dict) -> list[str]:
    return [f"{key}={value}" for key, value in settings.items()]


@dataclass(frozen=True)
class AsrPipeline:
    """corpus: the tiny corpus. units: its units folder. lms: ``lms/<unit>`` LM folders (senone, phone, subword),
    each with its posterior cache. features_cache: the fbank cache root the units were built with."""

    corpus: Path
    units: Path
    lms: Path
    features_cache: Path

    def hybrid_overrides(self, out: Path, **extra) -> list[str]:
        """``key=value`` overrides of a tiny hybrid AM run on this chain (``extra`` wins)."""
        paths = {"corpus": self.corpus, "units": self.units, "lms": self.lms, "features_cache": self.features_cache}
        return _as_overrides({**paths, "out": out, **HYBRID_TINY_OVERRIDES, **extra})

    def seq2seq_overrides(self, out: Path, **extra) -> list[str]:
        """``key=value`` overrides of a tiny seq2seq run on this chain, distilled from the subword LM (``extra``
        wins)."""
        paths = {"corpus": self.corpus, "units": self.units, "lm": self.lms / "subword",
                 "features_cache": self.features_cache}  # fmt: skip
        return _as_overrides({**paths, "out": out, **SEQ2SEQ_TINY_OVERRIDES, **extra})


@pytest.fixture(scope="session")
def asr_pipeline(asr_tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> AsrPipeline:
    import torch

    from crossdistill.data.asr.units import UnitsOptions, build_units, units_inputs
    from crossdistill.teachers.lm.config import load_lm_train_config
    from crossdistill.teachers.lm.posteriors import CacheOptions, build_posterior_cache
    from crossdistill.teachers.lm.training import train_lm

    root = tmp_path_factory.mktemp("asr_pipeline")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        inputs = units_inputs(asr_tiny_corpus, features_cache=root / "cache", progress=False)
        build_units(inputs, root / "units", UnitsOptions(**ASR_UNITS_OPTIONS), progress=False)
        for unit in ("senone", "phone", "subword"):
            options = {"units": root / "units", "unit": unit, "out": root / "lms" / unit, **ASR_LM_OPTIONS}
            train_lm(load_lm_train_config(None, [f"{key}={value}" for key, value in options.items()]))
            build_posterior_cache(
                CacheOptions(lm=root / "lms" / unit, corpus=asr_tiny_corpus, threads=1, progress=False)
            )
    finally:
        torch.set_num_threads(threads)
    return AsrPipeline(asr_tiny_corpus, root / "units", root / "lms", root / "cache")


# A tiny but complete pipeline shared by the training and experiment tests: corpus, pre-trained acoustic
# module, scratch teacher and its cache, built once per session.


@dataclass(frozen=True)
class Pipeline:
    corpus: Path
    acoustic: Path
    teacher: Path
    teacher_cache: Path

    def overrides(self, out: Path, **extra) -> list[str]:
        base = {
            "corpus": self.corpus,
            "acoustic": self.acoustic,
            "teacher_cache": self.teacher_cache,
            "out": out,
            "batch_size": 16,
            "threads": 1,
            "trainer.progress_bar": "false",
            "trainer.accelerator": "cpu",
            "intent.hidden": 32,
            "intent.dropout": 0.1,
        }
        base.update(extra)
        return [f"{key}={value}" for key, value in base.items()]


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    from crossdistill.data.corpus import load_corpus
    from crossdistill.data.synth import synthesize_corpus
    from crossdistill.teachers.text.cache import CacheOptions, build_teacher_cache
    from crossdistill.teachers.text.training import TrainOptions, train_teacher
    from crossdistill.train.pretrain import PretrainOptions, pretrain_acoustic

    root = tmp_path_factory.mktemp("pipeline")
    corpus_dir = synthesize_corpus(
        root / "corpus", preset="tiny", speakers=8, utterances_per_speaker=30, seed=0, jobs=2, progress=False
    )
    pretrain_acoustic(
        PretrainOptions(corpus=str(corpus_dir), out=str(root / "acoustic"), preset="tiny", frontend="logmel",
                        epochs=10, lr=0.005, batch_size=16, progress=False, threads=1, accelerator="cpu")
    )  # fmt: skip
    corpus = load_corpus(corpus_dir)
    train_teacher(corpus, root / "teacher", TrainOptions(arch="scratch", epochs=15, threads=1, progress=False))
    cache = build_teacher_cache(root / "teacher", corpus, CacheOptions(n_masks=20), progress=False)
    return Pipeline(corpus_dir, root / "acoustic", root / "teacher", Path(cache))


# Runs a `crossdistill` command in a real subprocess that SIGKILLs itself on the n-th call of one function (for
# example a training step), so an interruption lands at an exact, repeatable point of a run.
_KILL_ON_CALL = """
import importlib, os, signal, sys
module_name, attribute, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
owner = importlib.import_module(module_name)
*path, name = attribute.split(".")
for part in path:
    owner = getattr(owner, part)
original, calls = getattr(owner, name), [0]
def counted(*args, **kwargs):
    calls[0] += 1
    if calls[0] == n:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)
setattr(owner, name, counted)
from crossdistill.cli import main
sys.exit(main(sys.argv[4:]))
"""


@pytest.fixture(scope="session")
def without_throughput():
    """``without_throughput(metrics)``: a run's metrics (nested dicts and lists) without its throughput keys
    (``*_per_second``), the only numbers that differ between two runs of one config on one machine."""

    def strip(value):
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if not key.endswith("per_second")}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return strip


@pytest.fixture(scope="session")
def lengthen_killed_process():
    """``lengthen_killed_process(checkpoint, seconds)``: add ``seconds`` to the wall time that a killed run's resume
    checkpoint says its processes spent (as if the killed process had run that much longer); the resumed run must
    report at least that. Returns the checkpoint's value before the change."""
    import torch

    def lengthen(checkpoint: Path, seconds: float) -> float:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        (clock,) = [entry for entry in state["callbacks"].values() if "seconds" in entry and "random" in entry]
        before = clock["seconds"]
        clock["seconds"] += seconds
        torch.save(state, checkpoint)
        return before

    return lengthen


@pytest.fixture(scope="session")
def run_killed():
    """``run_killed(target, n, *cli_args)``: run ``crossdistill *cli_args`` in a subprocess killed (SIGKILL) on
    the ``n``-th call of ``target`` ("module:attribute", e.g. "crossdistill.train.x:Class.method"); returns
    the CompletedProcess."""
    import os
    import subprocess
    import sys

    def run(target: str, n: int, *args: str):
        module, attribute = target.split(":")
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        command = [sys.executable, "-c", _KILL_ON_CALL, module, attribute, str(n), *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)

    return run
