"""Fixtures of the teacher tests: a tiny synthetic corpus big enough to cover the whole grammar, and one
scratch and one MiniLM teacher fine-tuned on it (each trained once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

# The "tiny" preset (same voices and difficulty), sized so that the 3 training speakers say every one of
# the grammar's 255 phrasings at least once (300 utterances, so some repeat: deduplication matters);
# the valid and test speakers say 100 each.
TEACHER_CORPUS_OPTIONS = {"preset": "tiny", "speakers": 5, "utterances_per_speaker": 100, "seed": 0}
# One torch thread: on a shared 2-core machine it is several times faster than two (no spinning).
SCRATCH_OPTIONS = {"arch": "scratch", "epochs": 12, "seed": 0, "threads": 1, "progress": False}
# Short transcripts: 16 word pieces are plenty and keep the fine-tuning under a minute on 2 cores.
MINILM_OPTIONS = {"arch": "transformer", "epochs": 5, "max_length": 16, "seed": 0, "threads": 1, "progress": False}


@pytest.fixture(scope="session")
def teacher_corpus_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from crossdistill.data.synth import synthesize_corpus

    root = tmp_path_factory.mktemp("teacher_corpus") / "corpus"
    return synthesize_corpus(root, jobs=2, progress=False, **TEACHER_CORPUS_OPTIONS)


@pytest.fixture(scope="session")
def teacher_corpus(teacher_corpus_root: Path):
    from crossdistill.data.corpus import load_corpus

    return load_corpus(teacher_corpus_root)


@pytest.fixture(scope="session")
def scratch_teacher(teacher_corpus, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """(folder, metrics) of a scratch BiLSTM teacher trained on ``teacher_corpus``."""
    from crossdistill.teachers.text import TrainOptions, train_teacher

    out = tmp_path_factory.mktemp("scratch_teacher") / "teacher"
    return out, train_teacher(teacher_corpus, out, TrainOptions(**SCRATCH_OPTIONS))


@pytest.fixture(scope="session")
def minilm_teacher(teacher_corpus, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """(folder, metrics) of the packaged MiniLM fine-tuned on ``teacher_corpus``."""
    from crossdistill.teachers.text import TrainOptions, train_teacher

    out = tmp_path_factory.mktemp("minilm_teacher") / "teacher"
    return out, train_teacher(teacher_corpus, out, TrainOptions(**MINILM_OPTIONS))


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run each teacher test's inference on one torch thread (see SCRATCH_OPTIONS), restoring the setting."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def make_corpus(tmp_path: Path):
    """Factory of in-memory corpora: ``make_corpus({split: [(transcription, action, object, location)]})``.

    The text teacher reads transcripts and labels only, so the audio paths point at nothing.
    """
    from crossdistill.data.corpus import Corpus, LabelSet, Utterance

    def make(splits: dict[str, list[tuple[str, str, str, str]]], labels=None) -> Corpus:
        built = {
            split: [
                Utterance(f"wavs/speakers/{split}/{n:04d}", tmp_path / f"{split}_{n}.wav", split, text, a, o, loc)
                for n, (text, a, o, loc) in enumerate(rows)
            ]
            for split, rows in splits.items()
        }
        for split in ("train", "valid", "test"):
            built.setdefault(split, [])
        return Corpus(tmp_path, built, labels or LabelSet.from_utterances(built["train"]))

    return make
