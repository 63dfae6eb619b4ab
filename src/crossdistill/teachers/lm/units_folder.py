"""What the LM teachers read from a units folder (``crossdistill asr units``): inventories, LM text, frame labels.

Layout (the paper-001 data contract)::

    UNITS/units.json                 {"key": ...}: fingerprint of the corpus alignments, lexicon, LM text, options
    UNITS/{unit}.txt                 inventory, one symbol per line, id = line index
    UNITS/lm/{unit}.{train,valid,dev}.txt   LM text in that unit (dev: the AM dev transcripts)
    UNITS/frames/{split}.npz         utt_ids, offsets (N + 1), and one int32 label array per unit
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossdistill.teachers.lm.vocabulary import UnitVocabulary, check_unit, read_inventory

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
    """A units folder, read lazily. root: the folder. key: its ``units.json`` key."""

    root: Path
    key: str

    def vocabulary(self, unit: str) -> UnitVocabulary:
        return read_inventory(self.root / f"{check_unit(unit)}.txt", unit)

    def lm_text(self, unit: str, part: str) -> Path:
        if part not in LM_TEXT_PARTS:
            raise ValueError(f"LM text part must be one of {list(LM_TEXT_PARTS)}, got {part!r}")
        return self.root / "lm" / f"{check_unit(unit)}.{part}.txt"

    def splits(self) -> list[str]:
        """The splits with frame labels, in name order."""
        return sorted(path.stem for path in (self.root / "frames").glob("*.npz"))

    def frame_labels(self, split: str, unit: str) -> FrameLabels:
        """Read ``frames/{split}.npz``; a malformed file is an error naming it."""
        path = self.root / "frames" / f"{split}.npz"
        if not path.is_file():
            raise FileNotFoundError(f"frame labels {path} not found")
        with np.load(path, allow_pickle=False) as data:
            missing = sorted({"utt_ids", "offsets", check_unit(unit)} - set(data.files))
            if missing:
                raise ValueError(f"{path} lacks {missing}")
            utt_ids, offsets, labels = data["utt_ids"], data["offsets"].astype(np.int64), data[unit]
        if len(offsets) != len(utt_ids) + 1 or offsets[0] != 0 or offsets[-1] != len(labels):
            raise ValueError(f"{path}: offsets do not index the {unit} labels of {len(utt_ids)} utterances")
        if (np.diff(offsets) < 0).any():
            raise ValueError(f"{path}: offsets decrease")
        return FrameLabels(split, tuple(str(u) for u in utt_ids), offsets, labels.astype(np.int64), str(path))


def open_units_folder(path: str | Path) -> UnitsFolder:
    """Open a units folder, checking that it has a ``units.json`` with a key."""
    root = Path(path)
    meta = root / "units.json"
    if not meta.is_file():
        raise FileNotFoundError(f"{meta} not found: {root} is not a units folder (crossdistill asr units --out)")
    try:
        key = json.loads(meta.read_text(encoding="utf-8"))["key"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{meta}: no readable key ({error})") from None
    return UnitsFolder(root, str(key))


def check_frame_labels(frames: FrameLabels, vocabulary: UnitVocabulary) -> None:
    """Every frame label must be a unit id of the inventory; the error names the file, utterance and frame."""
    bad = np.flatnonzero((frames.labels < 0) | (frames.labels >= vocabulary.size))
    if bad.size:
        position = int(bad[0])
        utterance = int(np.searchsorted(frames.offsets, position, side="right")) - 1
        frame = position - int(frames.offsets[utterance])
        raise ValueError(
            f"{frames.source}: utterance {frames.utt_ids[utterance]} frame {frame} has {vocabulary.unit} label "
            f"{int(frames.labels[position])}, outside the inventory of {vocabulary.size} {vocabulary.unit}s"
        )
