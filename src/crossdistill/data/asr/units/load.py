"""Reading a finished units folder: inventories, frame labels per split and utterance, the key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crossdistill.data.asr.phones import PHONES
from crossdistill.data.asr.units.build import FORMAT_VERSION, UNITS_FILE, UnitsInputs, UnitsOptions, units_key
from crossdistill.data.asr.units.labels import UNITS, FrameLabels, read_frame_labels
from crossdistill.data.asr.units.tree import SenoneTree, read_tree


def _read_inventory(path: Path) -> dict[str, int]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: inventory missing from the units folder")
    names = path.read_text(encoding="utf-8").splitlines()
    inventory = {name: index for index, name in enumerate(names)}
    if len(inventory) != len(names) or "" in inventory:
        raise ValueError(f"{path}: inventory has empty or repeated lines")
    return inventory


@dataclass
class Units:
    """A units folder. ``inventories[unit]`` maps symbol -> id for ``senone``, ``phone``, ``subword``;
    ``frames(split)`` gives that split's ragged frame labels; ``labels(split, utt_id)`` one utterance's."""

    folder: Path
    key: str
    summary: dict
    inventories: dict[str, dict[str, int]]
    _frames: dict[str, FrameLabels] = field(default_factory=dict, repr=False)
    _index: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    @property
    def splits(self) -> list[str]:
        return list(self.summary["splits"])

    def size(self, unit: str) -> int:
        return len(self.inventories[unit])

    def frames(self, split: str) -> FrameLabels:
        if split not in self.summary["splits"]:
            raise ValueError(f"{self.folder}: no split {split!r} (splits: {', '.join(self.splits)})")
        if split not in self._frames:
            labels = read_frame_labels(self.folder / "frames" / f"{split}.npz")
            for unit in UNITS:
                values = labels.labels[unit]
                if values.size and (values.min() < 0 or values.max() >= self.size(unit)):
                    raise ValueError(f"{self.folder}/frames/{split}.npz: {unit} ids outside the inventory")
            self._frames[split] = labels
            self._index[split] = labels.index()
        return self._frames[split]

    def labels(self, split: str, utt_id: str) -> dict[str, np.ndarray]:
        """Frame labels of one utterance: ``{"senone": ..., "phone": ..., "subword": ...}`` int32 arrays."""
        frames = self.frames(split)
        position = self._index[split].get(utt_id)
        if position is None:
            raise KeyError(f"{self.folder}: utterance {utt_id!r} is not in split {split!r}")
        return frames.utterance(position)

    def lm_text(self, unit: str, part: str) -> Path:
        """Path of ``lm/{unit}.{part}.txt`` (part: train, valid or dev)."""
        return self.folder / "lm" / f"{unit}.{part}.txt"

    def senone_tree(self) -> SenoneTree:
        return read_tree(self.folder / "senone_tree.txt", PHONES)


def load_units(folder: str | Path, corpus=None) -> Units:
    """Read the units folder; with ``corpus`` (a corpus folder, an ``AsrCorpus`` or ``UnitsInputs``), check that
    the folder was built from it (same key), else ``ValueError``."""
    folder = Path(folder)
    path = folder / UNITS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder}: not a finished units folder (no {UNITS_FILE}); run `crossdistill asr units`"
        )
    summary = json.loads(path.read_text(encoding="utf-8"))
    if summary.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: format {summary.get('format')}, this version reads {FORMAT_VERSION}; rebuild it")
    inventories = {unit: _read_inventory(folder / f"{unit}.txt") for unit in UNITS}
    if list(inventories["phone"]) != list(PHONES):
        raise ValueError(f"{folder / 'phone.txt'}: not crossdistill.data.asr.phones.PHONES")
    for unit in ("senone", "subword"):
        if len(inventories[unit]) != summary[unit + "s"]:
            raise ValueError(
                f"{folder / (unit + '.txt')}: {len(inventories[unit])} lines, {path} says {summary[unit + 's']}"
            )
    if corpus is not None:
        inputs = corpus if isinstance(corpus, UnitsInputs) else _inputs_of(corpus, summary)
        expected = units_key(inputs, UnitsOptions(**summary["options"]))
        if expected != summary["key"]:
            raise ValueError(
                f"{folder} was built from other inputs (key {summary['key']}; the corpus gives {expected}): "
                "rebuild the units with `crossdistill asr units`"
            )
    return Units(folder=folder, key=summary["key"], summary=summary, inventories=inventories)


def _inputs_of(corpus, summary: dict) -> UnitsInputs:
    from crossdistill.data.asr.units.corpus import units_inputs

    return units_inputs(corpus)
