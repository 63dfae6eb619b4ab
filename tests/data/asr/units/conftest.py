"""Hand-made unit inputs: a small lexicon, LM text, aligned utterances and fbank-like frames, all seeded.

Alignments are made on whole milliseconds (3-decimal CTM times): ``SIL`` at both edges, each word's phones from
the lexicon, sometimes a pause between words. Frames depend on the phone and on whether the left neighbour is a
nasal, so the tree has a real effect to find.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.frames import num_frames
from crossdistill.data.asr.phones import PHONE_IDS, SILENCE
from crossdistill.data.asr.units.build import UnitsInputs, Utterance

LEXICON: dict[str, tuple[str, ...]] = {
    "THE": ("DH", "AH"),
    "CAT": ("K", "AE", "T"),
    "SAT": ("S", "AE", "T"),
    "ON": ("AA", "N"),
    "MAT": ("M", "AE", "T"),
    "A": ("AH",),
    "DOG": ("D", "AO", "G"),
    "RAN": ("R", "AE", "N"),
    "TO": ("T", "UW"),
    "HOUSE": ("HH", "AW", "S"),
    "BIG": ("B", "IH", "G"),
    "RED": ("R", "EH", "D"),
    "SMALL": ("S", "M", "AO", "L"),
    "IS": ("IH", "Z"),
    "AND": ("AH", "N", "D"),
    "NOT": ("N", "AA", "T"),
    "IN": ("IH", "N"),
    "TIN": ("T", "IH", "N"),
    "MINT": ("M", "IH", "N", "T"),
    "NINE": ("N", "AY", "N"),
}
WORDS = sorted(LEXICON)
NASALS = {"M", "N", "NG"}


def random_sentence(rng: np.random.Generator, low: int = 3, high: int = 9) -> list[str]:
    return [WORDS[i] for i in rng.integers(0, len(WORDS), rng.integers(low, high))]


@dataclass(frozen=True)
class AlignedUtterance:
    words: list[Segment]
    phones: list[Segment]
    n_frames: int


def align(words: list[str], rng: np.random.Generator, pause: float = 0.2, min_ms: int = 5, max_ms: int = 120):
    """A tiling phone alignment and a word alignment of ``words`` on whole milliseconds."""
    t = int(rng.integers(30, 200))
    phones = [Segment(SILENCE, 0.0, t / 1000)]
    word_segments = []
    for i, word in enumerate(words):
        if i and rng.random() < pause:
            d = int(rng.integers(30, 150))
            phones.append(Segment(SILENCE, t / 1000, (t + d) / 1000))
            t += d
        start = t
        for phone in LEXICON[word]:
            d = int(rng.integers(min_ms, max_ms + 1))
            phones.append(Segment(phone, t / 1000, (t + d) / 1000))
            t += d
        word_segments.append(Segment(word, start / 1000, t / 1000))
    d = int(rng.integers(30, 200))
    phones.append(Segment(SILENCE, t / 1000, (t + d) / 1000))
    t += d
    samples = t * 16 + int(rng.integers(0, 400))  # a little audio past the last segment
    return AlignedUtterance(word_segments, phones, num_frames(samples))


def fake_features(utt_id: str, phones: list[Segment], n_frames: int) -> np.ndarray:
    """(T, 80) frames: a mean per phone, shifted when the left neighbour is a nasal, plus noise."""
    from crossdistill.data.asr.units.contexts import frame_contexts

    rng = np.random.default_rng(zlib.crc32(utt_id.encode()))
    contexts = frame_contexts(phones, n_frames)
    nasal_left = np.isin(contexts[:, 2], [PHONE_IDS[p] for p in NASALS])
    mean = contexts[:, 0:1] * 0.5 + contexts[:, 1:2] * 0.3 + nasal_left[:, None] * 3.0
    return (mean + rng.normal(size=(n_frames, 80))).astype(np.float32)


def make_inputs(
    root: Path, seed: int = 0, utterances: tuple[int, int, int] = (60, 10, 10), pause: float = 0.2
) -> UnitsInputs:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lm_train, lm_valid = root / "text.txt", root / "valid.txt"
    lm_train.write_text("".join(" ".join(random_sentence(rng)) + "\n" for _ in range(400)))
    lm_valid.write_text("".join(" ".join(random_sentence(rng)) + "\n" for _ in range(40)))
    splits, phones, words, feats = {}, {}, {}, {}
    for split, count in zip(("train", "dev", "test"), utterances, strict=True):
        splits[split], phones[split], words[split] = [], {}, {}
        for i in range(count):
            utt_id = f"{100 + i % 3}-{split}-{i:04d}"
            sentence = random_sentence(rng)
            aligned = align(sentence, rng, pause=pause)
            splits[split].append(Utterance(utt_id, aligned.n_frames, tuple(sentence)))
            phones[split][utt_id], words[split][utt_id] = aligned.phones, aligned.words
            feats[utt_id] = fake_features(utt_id, aligned.phones, aligned.n_frames)

    def features(split: str, utt_ids: list[str]):
        return (feats[u] for u in utt_ids)

    return UnitsInputs(
        splits=splits,
        phones=phones,
        words=words,
        lexicon=dict(LEXICON),
        lm_train=lm_train,
        lm_valid=lm_valid,
        features=features,
        identity={"test_inputs": seed},
    )


@pytest.fixture
def inputs(tmp_path: Path) -> UnitsInputs:
    return make_inputs(tmp_path / "inputs")
