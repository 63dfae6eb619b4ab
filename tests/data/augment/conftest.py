"""Fixtures for the augmentation tests: the tiny corpora augmented once per module, and a digest of a folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from crossdistill.data.augment import AugmentOptions, augment_corpus

# Noise on every copy and reverberation on about half, from two rooms (each simulated in well under a second).
OPTIONS = AugmentOptions(speeds=(0.9, 1.0, 1.1), noise_snr_db=(0.0, 20.0), reverb=0.5, rooms=2, seed=7)


def digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative POSIX path) with the SHA-256 of its bytes."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture
def tree_digest():
    """``tree_digest(root)``: {relative path: sha256} of every file (test modules cannot import this conftest)."""
    return digest


@pytest.fixture(scope="module")
def augmented_fsc(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny FSC-layout corpus augmented with ``OPTIONS`` (copies at 0.9, 1.0 and 1.1); read-only."""
    return augment_corpus(tiny_corpus, tmp_path_factory.mktemp("augmented") / "fsc", OPTIONS, progress=False)


@pytest.fixture(scope="module")
def augment_options() -> AugmentOptions:
    return OPTIONS
