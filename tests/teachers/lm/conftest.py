"""A real units folder, built by ``crossdistill.data.asr.units.build_units`` from small hand-made inputs.

The inputs are what a corpus gives the units builder: LM text, aligned utterances and fbank-like frames. Sentences
come from a tiny grammar over a few words, so an LM that learns beats the unigram baseline by far. Building takes
about a second (a senone tree on a few thousand frames, a small sentencepiece model, frame labels, LM text).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.frames import num_frames
from crossdistill.data.asr.phones import PHONE_IDS, SILENCE
from crossdistill.data.asr.units import UnitsInputs, UnitsOptions, Utterance, build_units

LEXICON: dict[str, tuple[str, ...]] = {
    "THE": ("DH", "AH"),
    "CAT": ("K", "AE", "T"),
    "DOG": ("D", "AO", "G"),
    "SAT": ("S", "AE", "T"),
    "ON": ("AA", "N"),
    "MAT": ("M", "AE", "T"),
    "RAN": ("R", "AE", "N"),
    "HOME": ("HH", "OW", "M"),
    "BIG": ("B", "IH", "G"),
    "RED": ("R", "EH", "D"),
}
OPTIONS = UnitsOptions(senones=130, subwords=20, min_leaf_frames=20)


def sentence(rng: np.random.Generator) -> list[str]:
    """THE [BIG|RED] (CAT|DOG) (SAT ON THE MAT | RAN HOME)."""
    words = ["THE"]
    if rng.random() < 0.4:
        words.append(str(rng.choice(["BIG", "RED"])))
    words.append(str(rng.choice(["CAT", "DOG"])))
    return words + (["SAT", "ON", "THE", "MAT"] if rng.random() < 0.6 else ["RAN", "HOME"])


def align(words: list[str], rng: np.random.Generator) -> tuple[list[Segment], list[Segment], int]:
    """Word and tiling phone segments on whole milliseconds (SIL at the edges, sometimes a pause), and frames."""
    t = int(rng.integers(30, 150))
    phones, word_segments = [Segment(SILENCE, 0.0, t / 1000)], []
    for i, word in enumerate(words):
        if i and rng.random() < 0.15:
            d = int(rng.integers(20, 120))
            phones.append(Segment(SILENCE, t / 1000, (t + d) / 1000))
            t += d
        start = t
        for phone in LEXICON[word]:
            d = int(rng.integers(30, 110))
            phones.append(Segment(phone, t / 1000, (t + d) / 1000))
            t += d
        word_segments.append(Segment(word, start / 1000, t / 1000))
    d = int(rng.integers(30, 150))
    phones.append(Segment(SILENCE, t / 1000, (t + d) / 1000))
    t += d
    return word_segments, phones, num_frames(t * 16 + int(rng.integers(0, 100)))


def fake_features(utt_id: str, phones: list[Segment], n_frames: int) -> np.ndarray:
    """(T, 80) frames with a mean per phone and state, plus noise (the tree needs something to split on)."""
    from crossdistill.data.asr.units.contexts import frame_contexts

    rng = np.random.default_rng(zlib.crc32(utt_id.encode()))
    contexts = frame_contexts(phones, n_frames)
    mean = contexts[:, 0:1] * 0.5 + contexts[:, 1:2] * 0.3 + (contexts[:, 2:3] == PHONE_IDS["AE"]) * 2.0
    return (mean + rng.normal(size=(n_frames, 80))).astype(np.float32)


def make_inputs(root: Path, seed: int = 0, lm_sentences: int = 400, utterances=(30, 8, 6)) -> UnitsInputs:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lm_train, lm_valid = root / "text.txt", root / "valid.txt"
    lm_train.write_text("".join(" ".join(sentence(rng)) + "\n" for _ in range(lm_sentences)))
    lm_valid.write_text("".join(" ".join(sentence(rng)) + "\n" for _ in range(60)))
    splits, phones, words, feats = {}, {}, {}, {}
    for split, count in zip(("train", "dev", "test"), utterances, strict=True):
        splits[split], phones[split], words[split] = [], {}, {}
        for i in range(count):
            utt_id = f"{100 + i % 3}-{split}-{i:04d}"
            text = sentence(rng)
            word_segments, phone_segments, n_frames = align(text, rng)
            splits[split].append(Utterance(utt_id, n_frames, tuple(text)))
            phones[split][utt_id], words[split][utt_id] = phone_segments, word_segments
            feats[utt_id] = fake_features(utt_id, phone_segments, n_frames)
    return UnitsInputs(
        splits=splits,
        phones=phones,
        words=words,
        lexicon=dict(LEXICON),
        lm_train=lm_train,
        lm_valid=lm_valid,
        features=lambda split, utt_ids: (feats[u] for u in utt_ids),
        identity={"lm_teacher_test_inputs": seed, "lm_sentences": lm_sentences},
    )


def write_units_folder(root: Path, seed: int = 0, lm_sentences: int = 400) -> Path:
    """Build a units folder under ``root / "units"`` (inputs under ``root / "inputs"``); returns the folder."""
    inputs = make_inputs(root / "inputs", seed, lm_sentences)
    build_units(inputs, root / "units", OPTIONS, progress=False)
    return root / "units"


@pytest.fixture(scope="session")
def shared_units(tmp_path_factory) -> Path:
    """One units folder for the tests that only read it."""
    return write_units_folder(tmp_path_factory.mktemp("lm_units"))


@pytest.fixture
def units_folder(tmp_path: Path) -> Path:
    """A units folder of this test's own (for tests that damage it)."""
    return write_units_folder(tmp_path)
