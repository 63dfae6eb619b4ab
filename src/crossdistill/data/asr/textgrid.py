"""Montreal Forced Aligner TextGrids (read and written through ``praatio``) as word and phone ``Segment`` lists.

MFA writes one TextGrid per utterance with an interval tier ``words`` and an interval tier ``phones``
(MFA 1.x names them ``<speaker> - words`` and ``<speaker> - phones`` when a corpus has several speakers;
both are accepted). Silence is an empty interval; empty intervals are dropped here, so the returned lists
hold labelled segments only, in time order, as ``read_ctm`` gives them. Labels are kept as written (MFA's
words are lower case, its phones carry stress digits): ``crossdistill.data.asr.alignments`` normalizes them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from praatio import textgrid

from crossdistill.common.atomic import atomic_path
from crossdistill.data.alignments import Segment
from crossdistill.data.asr.phones import SILENCE

WORDS_TIER = "words"
PHONES_TIER = "phones"


@dataclass(frozen=True)
class TextGridAlignment:
    """The labelled intervals of a TextGrid's word and phone tiers, and the TextGrid's end time (seconds)."""

    words: list[Segment]
    phones: list[Segment]
    duration: float


def _find_tier(grid: textgrid.Textgrid, name: str, path: Path) -> textgrid.IntervalTier:
    matches = [t for t in grid.tierNames if t == name or t.endswith(f" - {name}")]
    if len(matches) != 1:
        found = ", ".join(repr(t) for t in grid.tierNames) or "none"
        raise ValueError(f"{path}: expected one interval tier named {name!r} (or '<speaker> - {name}'); tiers: {found}")
    tier = grid.getTier(matches[0])
    if not isinstance(tier, textgrid.IntervalTier):
        raise ValueError(f"{path}: tier {matches[0]!r} is not an interval tier")
    return tier


def read_textgrid(path: str | os.PathLike) -> TextGridAlignment:
    """Read the ``words`` and ``phones`` tiers of an MFA TextGrid; errors name the file."""
    path = Path(path)
    try:
        grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False, reportingMode="error")
    except FileNotFoundError:
        raise
    except Exception as error:  # praatio raises IndexError, ValueError... on malformed files
        raise ValueError(f"{path}: not a readable TextGrid ({type(error).__name__}: {error})") from error

    def segments(name: str) -> list[Segment]:
        tier = _find_tier(grid, name, path)
        return [Segment(e.label.strip(), float(e.start), float(e.end)) for e in tier.entries if e.label.strip()]

    return TextGridAlignment(segments(WORDS_TIER), segments(PHONES_TIER), float(grid.maxTimestamp))


def write_textgrid(
    path: str | os.PathLike, words: Sequence[Segment], phones: Sequence[Segment], duration: float
) -> None:
    """Write ``words`` and ``phones`` as an MFA-style TextGrid (long text format) atomically.

    Gaps become empty intervals, as MFA writes silence; a ``SIL`` phone is written as silence too.
    """

    def tier(name: str, segments: Sequence[Segment]) -> textgrid.IntervalTier:
        entries = [(s.start, s.end, s.label) for s in segments if s.label != SILENCE and s.end > s.start]
        return textgrid.IntervalTier(name, entries, 0.0, duration)

    grid = textgrid.Textgrid()
    grid.addTier(tier(WORDS_TIER, words))
    grid.addTier(tier(PHONES_TIER, phones))
    with atomic_path(path) as tmp:
        grid.save(str(tmp), format="long_textgrid", includeBlankSpaces=True, reportingMode="error")
