"""A hand-made units folder in the layout of the paper-001 data contract, small enough to train LMs in seconds.

Sentences come from a tiny grammar over a few "words", each a fixed phone string, so an LM that learns beats the
unigram baseline by far. As in ``crossdistill asr units``: sentences are wrapped in silence (``SIL``, ``<sil>``),
senones are phone states (here ``AA_0``..``AA_2``, untied), the subword inventory starts with sentencepiece's
specials ``<unk> <s> </s> <sil>``, and runs of equal units are collapsed. Frame labels give every state 1-3 frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

WORDS = {
    "CAT": ["K", "AE", "T"],
    "DOG": ["D", "AO", "G"],
    "SAT": ["S", "AE", "T"],
    "ON": ["AA", "N"],
    "THE": ["DH", "AH"],
    "MAT": ["M", "AE", "T"],
    "RAN": ["R", "AE", "N"],
    "HOME": ["HH", "OW", "M"],
}
PHONES = ["SIL", "AA", "AE", "AH", "AO", "D", "DH", "G", "HH", "K", "M", "N", "OW", "R", "S", "T", "Z"]
SPLIT_PIECES = {"HOME": ["▁HO", "ME"], "RAN": ["▁R", "AN"]}
SPECIALS = ["<unk>", "<s>", "</s>", "<sil>"]
PIECES = {f"▁{w}" for w in WORDS if w not in SPLIT_PIECES} | {p for ps in SPLIT_PIECES.values() for p in ps}
SUBWORDS = SPECIALS + sorted(PIECES)
SENONES = [f"{p}_{s}" for p in PHONES for s in range(3)]
UNIT_INVENTORIES = {"phone": PHONES, "senone": SENONES, "subword": SUBWORDS}


def sentence_words(rng: np.random.Generator) -> list[str]:
    # A little grammar: THE (CAT|DOG) (SAT ON THE MAT | RAN HOME), so word order is predictable too.
    subject = str(rng.choice(["CAT", "DOG"]))
    rest = ["SAT", "ON", "THE", "MAT"] if rng.random() < 0.6 else ["RAN", "HOME"]
    return ["THE", subject, *rest]


def to_units(words: list[str], unit: str) -> list[str]:
    """The LM-text form of a sentence: edge silence, then runs of an equal unit collapsed."""
    phones = ["SIL", *(p for w in words for p in WORDS[w]), "SIL"]
    if unit == "phone":
        units = phones
    elif unit == "senone":
        units = [f"{p}_{s}" for p in phones for s in range(3)]
    else:
        units = ["<sil>", *(piece for w in words for piece in SPLIT_PIECES.get(w, [f"▁{w}"])), "<sil>"]
    return [u for k, u in enumerate(units) if k == 0 or u != units[k - 1]]


def frame_labels(words: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-frame ids of every unit: SIL around the words, 1-3 frames per state."""
    ids = {unit: {s: i for i, s in enumerate(inv)} for unit, inv in UNIT_INVENTORIES.items()}
    labels: dict[str, list[int]] = {"phone": [], "senone": [], "subword": []}

    def add(phone: str, piece: str) -> None:
        for state in range(3):
            n = int(rng.integers(1, 4))
            labels["phone"] += [ids["phone"][phone]] * n
            labels["senone"] += [ids["senone"][f"{phone}_{state}"]] * n
            labels["subword"] += [ids["subword"][piece]] * n

    add("SIL", "<sil>")
    for word in words:
        pieces = SPLIT_PIECES.get(word, [f"▁{word}"])
        phones = WORDS[word]
        for k, phone in enumerate(phones):
            add(phone, pieces[min(k * len(pieces) // len(phones), len(pieces) - 1)])
    add("SIL", "<sil>")
    return {unit: np.array(v, dtype=np.int32) for unit, v in labels.items()}


@dataclass(frozen=True)
class UnitsFixture:
    root: Path
    key: str


def write_units_folder(root: Path, key: str = "units-key-0", seed: int = 0, train_sentences: int = 300) -> UnitsFixture:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "units.json").write_text(json.dumps({"key": key}))
    for unit, inventory in UNIT_INVENTORIES.items():
        (root / f"{unit}.txt").write_text("\n".join(inventory) + "\n")
    (root / "lm").mkdir(exist_ok=True)
    parts = {"train": train_sentences, "valid": 40, "dev": 20}
    sentences = {part: [sentence_words(rng) for _ in range(n)] for part, n in parts.items()}
    for part, words_list in sentences.items():
        for unit in UNIT_INVENTORIES:
            lines = [" ".join(to_units(words, unit)) for words in words_list]
            (root / "lm" / f"{unit}.{part}.txt").write_text("\n".join(lines) + "\n")
    (root / "frames").mkdir(exist_ok=True)
    for split, n in (("train", 6), ("dev", 4), ("test", 3)):
        utts = [frame_labels(sentence_words(rng), rng) for _ in range(n)]
        lengths = [len(u["phone"]) for u in utts]
        arrays = {unit: np.concatenate([u[unit] for u in utts]) for unit in UNIT_INVENTORIES}
        np.savez(
            root / "frames" / f"{split}.npz",
            utt_ids=np.array([f"{split}-{i:03d}" for i in range(n)]),
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            **arrays,
        )
    return UnitsFixture(root, key)


@pytest.fixture
def units_folder(tmp_path: Path) -> UnitsFixture:
    return write_units_folder(tmp_path / "units")
