"""Fixtures shared across the test tree."""

from __future__ import annotations

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
