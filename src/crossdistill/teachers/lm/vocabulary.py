"""An LM's vocabulary: the unit inventory of a units folder plus one sentence-boundary id.

Unit ids are the inventory's (line index in ``UNITS/{unit}.txt``), so an LM's output id k means the same unit as
frame label k of the units folder. One extra id, ``boundary = len(inventory)``, is ``<s>`` when fed to the LM and
``</s>`` when predicted by it (the shared sos/eos id of ESPnet's LMs): the input vocabulary is the inventory plus
``<s>``, the output vocabulary the inventory plus ``</s>``, both of size ``len(inventory) + 1``.

The boundary is an id, not a symbol of the inventory: the subword inventory holds sentencepiece's own ``<s>`` and
``</s>`` pieces (ids 1 and 2), which never occur in the LM text and stay ordinary, never-seen units for the LM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SENTENCE_END = "</s>"  # the inventory symbol (sentencepiece's) that the boundary folds into for seq2seq targets
UNITS = ("senone", "phone", "subword")


def check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {list(UNITS)}, got {unit!r}")
    return unit


class InventoryMismatch(ValueError):
    """Two unit inventories disagree (size or names): ids of one would mean other units in the other."""


@dataclass(frozen=True)
class UnitVocabulary:
    """The units an LM reads and predicts.

    unit: ``senone``, ``phone`` or ``subword``. symbols: the inventory, id = index.
    """

    unit: str
    symbols: tuple[str, ...]

    def __post_init__(self) -> None:
        check_unit(self.unit)
        if not self.symbols:
            raise ValueError(f"the {self.unit} inventory is empty")
        if len(set(self.symbols)) != len(self.symbols):
            seen: set[str] = set()
            duplicate = next(s for s in self.symbols if s in seen or seen.add(s))
            raise ValueError(f"the {self.unit} inventory lists {duplicate!r} twice")

    @property
    def size(self) -> int:
        """Number of units (V)."""
        return len(self.symbols)

    @property
    def boundary(self) -> int:
        """The id of ``<s>`` (input) and ``</s>`` (output)."""
        return len(self.symbols)

    @property
    def output_size(self) -> int:
        """Units plus ``</s>``: the width of the LM's output (and of its input embedding: units plus ``<s>``)."""
        return len(self.symbols) + 1

    def ids(self) -> dict[str, int]:
        return {symbol: i for i, symbol in enumerate(self.symbols)}

    def encode(self, line: str, where: str, ids: dict[str, int] | None = None) -> np.ndarray:
        """Unit ids of a line of space-separated symbols; an unknown symbol is an error naming ``where``."""
        ids = ids if ids is not None else self.ids()
        try:
            return np.array([ids[symbol] for symbol in line.split()], dtype=np.int32)
        except KeyError as error:
            raise ValueError(f"{where}: {error.args[0]!r} is not in the {self.unit} inventory") from None

    def check_matches(self, symbols: Sequence[str], where: str) -> None:
        """Raise :class:`InventoryMismatch` naming the first difference unless ``symbols`` equal this inventory."""
        symbols = tuple(symbols)
        if symbols == self.symbols:
            return
        if len(symbols) != len(self.symbols):
            raise InventoryMismatch(
                f"{where} has {len(symbols)} {self.unit}s but the LM was trained on {len(self.symbols)}: "
                "an LM's vocabulary must equal the corpus' inventory"
            )
        k = next(i for i, (a, b) in enumerate(zip(symbols, self.symbols, strict=True)) if a != b)
        raise InventoryMismatch(
            f"{where} names {self.unit} {k} {symbols[k]!r} but the LM's {self.unit} {k} is {self.symbols[k]!r}: "
            "an LM's vocabulary must equal the corpus' inventory"
        )


def read_inventory(path: str | Path, unit: str) -> UnitVocabulary:
    """Read ``UNITS/{unit}.txt``: one symbol per line, id = line index (blank lines are errors)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{unit} inventory {path} not found")
    symbols = path.read_text(encoding="utf-8").splitlines()
    for number, symbol in enumerate(symbols, start=1):
        if not symbol.strip() or symbol != symbol.strip() or " " in symbol:
            raise ValueError(f"{path}, line {number}: an inventory line holds one symbol, got {symbol!r}")
    try:
        return UnitVocabulary(unit, tuple(symbols))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
