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
