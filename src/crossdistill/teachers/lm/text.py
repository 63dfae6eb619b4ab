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


def read_unit_sentences(
    path: str | Path,
    vocabulary: UnitVocabulary,
    max_sentences: int | None = None,
    seed: int = 0,
    max_units: int | None = None,
) -> UnitSentences:
    """Read a unit-text file; errors name the file and line.

    With ``max_sentences``, a seeded random subset of that many sentences is kept (in file order). The units
    folder writes the LM text of the three units line by line from the same sentences, so the same ``seed`` keeps
    the same sentences in every unit. Only kept lines are checked. With ``max_units``, kept sentences longer than
    that are left out (and counted in ``skipped_long``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{vocabulary.unit} text {path} not found")
    keep = None
    if max_sentences is not None:
        if max_sentences < 1:
            raise ValueError(f"max_sentences must be >= 1, got {max_sentences}")
        with open(path, encoding="utf-8") as handle:
            total = sum(1 for line in handle if line.strip())
        if max_sentences < total:
            keep = np.zeros(total, dtype=bool)
            keep[np.random.default_rng(seed).choice(total, size=max_sentences, replace=False)] = True
    if max_units is not None and max_units < 1:
        raise ValueError(f"max_units must be >= 1, got {max_units}")
    ids = vocabulary.ids()
    chunks, lengths, sentence, skipped = [], [], -1, 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            sentence += 1
            if keep is not None and not keep[sentence]:
                continue
            encoded = vocabulary.encode(line, f"{path}, line {number}", ids)
            if max_units is not None and len(encoded) > max_units:
                skipped += 1
                continue
            chunks.append(encoded)
            lengths.append(len(encoded))
    if not chunks:
        raise ValueError(f"{path} holds no sentences" + (f" of at most {max_units} units" if skipped else ""))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
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
