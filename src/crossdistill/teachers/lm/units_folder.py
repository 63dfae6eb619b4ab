"""What the LM teachers read from a units folder (``crossdistill asr units``), through UNITS' ``load_units``.

Layout (the paper-001 data contract)::

    UNITS/units.json                 key (corpus alignments, lexicon, LM text, options), sizes, measurements
    UNITS/{unit}.txt                 inventory, one symbol per line, id = line index
    UNITS/lm/{unit}.{train,valid,dev}.txt   LM text in that unit (dev: the AM dev transcripts)
    UNITS/frames/{split}.npz         utt_ids, offsets (N + 1), and one int32 label array per unit
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossdistill.data.asr.units import Units, load_units
from crossdistill.teachers.lm.vocabulary import UnitVocabulary, check_unit

LM_TEXT_PARTS = ("train", "valid", "dev")


@dataclass(frozen=True)
class FrameLabels:
    """One split's frame labels in one unit: utterance i has ``labels[offsets[i]:offsets[i + 1]]``."""

    split: str
    utt_ids: tuple[str, ...]
    offsets: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.utt_ids)

    def utterance(self, i: int) -> np.ndarray:
        return self.labels[self.offsets[i] : self.offsets[i + 1]]


@dataclass(frozen=True)
class UnitsFolder:
    """A loaded units folder, seen per unit."""

    units: Units

    @property
    def root(self) -> Path:
        return Path(self.units.folder)

    @property
    def key(self) -> str:
        return self.units.key

    def vocabulary(self, unit: str) -> UnitVocabulary:
        inventory = self.units.inventories[check_unit(unit)]
        return UnitVocabulary(unit, tuple(sorted(inventory, key=inventory.__getitem__)))

    def lm_text(self, unit: str, part: str) -> Path:
        if part not in LM_TEXT_PARTS:
            raise ValueError(f"LM text part must be one of {list(LM_TEXT_PARTS)}, got {part!r}")
        return self.units.lm_text(check_unit(unit), part)

    def splits(self) -> list[str]:
        return list(self.units.splits)

    def frames_file(self, split: str) -> Path:
        return self.root / "frames" / f"{split}.npz"

    def frame_labels(self, split: str, unit: str) -> FrameLabels:
        """One split's labels in ``unit``; ``load_units`` has checked every id against the inventory."""
        frames = self.units.frames(split)
        return FrameLabels(
            split=split,
            utt_ids=tuple(str(u) for u in frames.utt_ids),
            offsets=np.asarray(frames.offsets, dtype=np.int64),
            labels=np.asarray(frames.labels[check_unit(unit)], dtype=np.int64),
            source=str(self.frames_file(split)),
        )


def open_units_folder(path: str | os.PathLike, corpus: Any = None) -> UnitsFolder:
    """Read a units folder; with ``corpus`` (a corpus folder, or anything else ``load_units`` accepts), check that
    the units were built from it."""
    return UnitsFolder(load_units(path, corpus))
