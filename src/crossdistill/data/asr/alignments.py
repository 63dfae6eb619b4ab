"""Word and phone alignments of paper 001's corpora, whatever file they came from (CTM or TextGrid).

An ``AsrAlignment`` holds the words (in transcript order, no silence) and the phones of one utterance. Phones
are ``PHONES`` symbols and tile ``[0, duration)``: every instant of the audio belongs to exactly one phone
segment, silence included. Real aligners label silence in several ways (Kaldi ``SIL``/``sil``, MFA empty
intervals, ``sp``) and phones with stress digits and word-position suffixes (``AH0_B``); ``normalize_phone``
maps all of these onto ``PHONES``, and ``tile_phones`` fills unlabelled gaps with ``SIL``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.phones import PHONE_IDS, SILENCE, SPOKEN_NOISE

# An alignment may end this much after the audio (and is clipped to it): CTM times are rounded, and a
# frame-based aligner's last frame may reach past the last sample. One frame shift; more is an error.
END_TOLERANCE_S = 0.01
_SILENCE_LABELS = {"", "SIL", "SP", "<EPS>", "SILENCE"}
_NOISE_LABELS = {"SPN", "<UNK>", "NSN"}
_POSITION_SUFFIX = re.compile(r"_[BEIS]$")  # Kaldi word-position-dependent phones: AH0_B, T_E
_STRESS = re.compile(r"(?<=[A-Z])[012]$")


class AlignmentError(ValueError):
    """An alignment that does not fit its utterance; ``index`` is the offending segment's (None: the whole list)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class AsrAlignment:
    """One utterance's alignment: ``words`` (transcript words in order) and ``phones`` (tiling the audio)."""

    words: tuple[Segment, ...]
    phones: tuple[Segment, ...]


@functools.lru_cache(maxsize=4096)  # a corpus has a few hundred distinct labels and millions of segments
def normalize_phone(label: str) -> str:
    """Map an aligner's phone label onto ``PHONES`` (``AH0_B`` -> ``AH``, ``sil``/``sp``/empty -> ``SIL``).

    Raises ``ValueError`` for a label that is none of ``PHONES`` after that mapping.
    """
    name = _STRESS.sub("", _POSITION_SUFFIX.sub("", label.strip().upper()))
    if name in _SILENCE_LABELS:
        return SILENCE
    if name in _NOISE_LABELS:
        return SPOKEN_NOISE
    if name not in PHONE_IDS:
        raise ValueError(f"phone {label!r} is not one of the 41 phones (39 ARPAbet + SIL + SPN)")
    return name


def tile_phones(phones: Sequence[Segment], duration: float) -> tuple[Segment, ...]:
    """Return ``phones`` (in time order, no overlap) with every gap in ``[0, duration)`` filled by ``SIL``.

    Adjacent silences are merged, zero-length segments dropped, and a last segment that runs at most
    ``END_TOLERANCE_S`` past ``duration`` is clipped to it. Raises ``ValueError`` when segments overlap or
    run further past the end (``AlignmentError``, with the segment's index).
    """
    tiled: list[Segment] = []

    def add(label: str, start: float, end: float) -> None:
        if end <= start:
            return
        if tiled and tiled[-1].label == SILENCE == label:
            tiled[-1] = Segment(SILENCE, tiled[-1].start, end)
        else:
            tiled.append(Segment(label, start, end))

    cursor = 0.0
    for index, phone in enumerate(phones):
        if phone.start < cursor:
            raise AlignmentError(
                f"phone {phone.label!r} at {phone.start} s overlaps the previous one (ends {cursor} s)", index
            )
        if phone.end > duration + END_TOLERANCE_S:
            raise AlignmentError(
                f"phone {phone.label!r} ends at {phone.end} s, after the end of the audio ({duration:.3f} s)", index
            )
        add(SILENCE, cursor, phone.start)
        add(phone.label, phone.start, min(phone.end, duration))
        cursor = max(cursor, min(phone.end, duration))
    add(SILENCE, cursor, duration)
    return tuple(tiled)


def validate_words(words: Sequence[Segment], transcript: Sequence[str], duration: float) -> tuple[Segment, ...]:
    """Return ``words`` clipped to ``[0, duration]``, after checking that their labels spell ``transcript``.

    Raises ``AlignmentError`` when the labels (compared in upper case) differ from the transcript's words, or
    a word ends more than ``END_TOLERANCE_S`` after the audio.
    """
    labels = [w.label.upper() for w in words]
    expected = [w.upper() for w in transcript]
    if labels != expected:
        first = next((i for i, (a, b) in enumerate(zip(labels, expected, strict=False)) if a != b), None)
        raise AlignmentError(
            f"aligned words {' '.join(labels)!r} do not match the transcript {' '.join(transcript)!r}",
            first if first is not None and first < len(labels) else None,
        )
    for index, word in enumerate(words):
        if word.end > duration + END_TOLERANCE_S:
            raise AlignmentError(
                f"word {word.label!r} ends at {word.end} s, after the end of the audio ({duration:.3f} s)", index
            )
    return tuple(Segment(w.label.upper(), min(w.start, duration), min(w.end, duration)) for w in words)
