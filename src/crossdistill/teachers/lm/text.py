"""LM text in one unit: sentences of unit ids, stored ragged (one flat array plus offsets), and their batches.

A file holds one sentence per line, units separated by spaces (``UNITS/lm/{unit}.{train,valid,dev}.txt``). Blank
lines are skipped; a symbol outside the inventory is an error naming the file and line. Each sentence becomes one
training example ``<s> u_1 ... u_n`` -> ``u_1 ... u_n </s>``, so the LM's position k predicts unit k from the
units before it, and the last position predicts the end of the sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from crossdistill.teachers.lm.vocabulary import UnitVocabulary

IGNORE_INDEX = -100  # targets of padding positions (torch's cross_entropy default)


@dataclass(frozen=True)
class UnitSentences:
    """Sentences of unit ids: sentence i is ``ids[offsets[i]:offsets[i + 1]]``.

    ids: int32 (total units,). offsets: int64 (sentences + 1,), starting at 0. source: where they came from.
    skipped_long: sentences of the source left out for being longer than the reader's ``max_units``.
    """

    ids: np.ndarray
    offsets: np.ndarray
    source: str = ""
    skipped_long: int = 0

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    def lengths(self) -> np.ndarray:
        """Units per sentence (without the boundary symbols)."""
        return np.diff(self.offsets)

    @property
    def num_units(self) -> int:
        return len(self.ids)

    @property
    def num_predictions(self) -> int:
        """Positions the LM predicts: every unit plus one ``</s>`` per sentence (the perplexity's denominator)."""
        return self.num_units + len(self)

    @classmethod
    def from_lists(cls, sentences: Sequence[Sequence[int]], source: str = "") -> UnitSentences:
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = [unit for sentence in sentences for unit in sentence]
        return cls(np.asarray(flat, dtype=np.int32), offsets, source)


@dataclass(frozen=True)
class TextSelection:
    """Which sentences of a unit-text file to read (every limit None: all of them).

    A seeded permutation of the file's sentences is walked in order, leaving out sentences longer than
    ``max_sentence_units``, until ``max_sentences`` sentences or ``max_total_units`` units are taken; the taken
    sentences are read in file order. The units folder writes the three units' LM text line by line from the same
    sentences, so one seed walks the same sentences in every unit: with ``max_sentences`` alone the three LMs read the
    same sentences, with ``max_total_units`` each reads as many units (more, shorter sentences for subwords than for
    senones, the senones' sentences among them).
    """

    max_sentences: int | None = None
    max_total_units: int | None = None
    max_sentence_units: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("max_sentences", "max_total_units", "max_sentence_units"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")

    def choose(self, lengths: np.ndarray) -> tuple[np.ndarray, int]:
        """Indices (in file order) of the chosen sentences among sentences of ``lengths`` units, and how many too
        long ones the walk passed."""
        order = np.random.default_rng(self.seed).permutation(len(lengths))
        eligible = np.ones(len(lengths), dtype=bool)
        if self.max_sentence_units is not None:
            eligible = lengths[order] <= self.max_sentence_units
        taken = np.cumsum(eligible)  # eligible sentences up to each step of the walk
        end = len(order)
        if self.max_sentences is not None:
            end = min(end, int(np.searchsorted(taken, self.max_sentences, side="left")) + 1)
        if self.max_total_units is not None:
            units = np.cumsum(np.where(eligible, lengths[order], 0))
            end = min(end, int(np.searchsorted(units, self.max_total_units, side="left")) + 1)
        walked = slice(0, end)
        chosen = np.sort(order[walked][eligible[walked]])
        return chosen, int((~eligible[walked]).sum())


def read_unit_sentences(
    path: str | Path, vocabulary: UnitVocabulary, selection: TextSelection | None = None
) -> UnitSentences:
    """Read a unit-text file (the sentences ``selection`` chooses, in file order); errors name the file and line.

    Only the chosen lines are checked against the inventory; ``skipped_long`` counts the sentences the selection
    left out for their length.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{vocabulary.unit} text {path} not found")
    keep, skipped = None, 0
    if selection is not None and selection != TextSelection(seed=selection.seed):
        with open(path, encoding="utf-8") as handle:
            lengths = np.array([len(line.split()) for line in handle if line.strip()], dtype=np.int64)
        chosen, skipped = selection.choose(lengths)
        keep = np.zeros(len(lengths), dtype=bool)
        keep[chosen] = True
    ids = vocabulary.ids()
    chunks, sizes, sentence = [], [], -1
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            sentence += 1
            if keep is None or keep[sentence]:
                chunks.append(vocabulary.encode(line, f"{path}, line {number}", ids))
                sizes.append(len(chunks[-1]))
    if not chunks:
        raise ValueError(f"{path} holds no sentences" + (" short enough to keep" if skipped else ""))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return UnitSentences(np.concatenate(chunks).astype(np.int32), offsets, str(path), skipped)


class SentenceDataset(Dataset):
    """One item per sentence: its unit ids as an int64 tensor. ``lengths()`` serves length bucketing."""

    def __init__(self, sentences: UnitSentences) -> None:
        self.sentences = sentences

    def __len__(self) -> int:
        return len(self.sentences)

    def __getitem__(self, i: int) -> Tensor:
        return torch.from_numpy(self.sentences[i].astype(np.int64))

    def lengths(self) -> list[int]:
        return self.sentences.lengths().tolist()


def make_lm_batch(sentences: Sequence[Tensor], boundary: int) -> dict[str, Tensor]:
    """Pad sentences into teacher-forced LM inputs and targets.

    Returns ``inputs`` (B, L + 1) = ``<s> u_1 .. u_n`` then padding, ``targets`` (B, L + 1) = ``u_1 .. u_n </s>``
    then ``IGNORE_INDEX``, and ``lengths`` (B,) = n + 1 positions per sentence, L being the longest n.
    """
    lengths = torch.tensor([len(s) + 1 for s in sentences], dtype=torch.int64)
    width = int(lengths.max()) if len(sentences) else 0
    inputs = torch.full((len(sentences), width), boundary, dtype=torch.int64)
    targets = torch.full((len(sentences), width), IGNORE_INDEX, dtype=torch.int64)
    for b, sentence in enumerate(sentences):
        n = len(sentence)
        inputs[b, 1 : n + 1] = sentence
        targets[b, :n] = sentence
        targets[b, n] = boundary
    return {"inputs": inputs, "targets": targets, "lengths": lengths}
