"""Kaldi CTM alignment files: ``utt channel start duration token [confidence]``, one segment per line.

Times are seconds. We write three decimals (whole milliseconds, as Kaldi's ``steps/get_train_ctm.sh``
does at a 10 ms frame shift) and write the duration as the difference of the rounded boundaries, so
segments that touch in memory still touch in the file. Reading rounds ``start + duration`` to six
decimals, which gives back exactly the float a touching next segment starts at.

Labels are kept as written: mapping real-corpus phone names (``AH0_B``, ``sil``) onto ``PHONES`` is
``crossdistill.data.asr.alignments.normalize_phone``'s job.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from crossdistill.common.atomic import atomic_write_text
from crossdistill.data.alignments import Segment

TIME_DECIMALS = 3
_READ_DECIMALS = 6


def read_ctm(path: str | os.PathLike) -> dict[str, list[Segment]]:
    """Read a CTM into ``{utt_id: segments in time order}`` (utterances in order of first appearance).

    Errors as ``read_ctm_with_lines``.
    """
    return {utt_id: [segment for _, segment in entries] for utt_id, entries in read_ctm_with_lines(path).items()}


def read_ctm_with_lines(path: str | os.PathLike) -> dict[str, list[tuple[int, Segment]]]:
    """Read a CTM into ``{utt_id: [(line number, segment), ...]}``, so later checks can name the line.

    Raises ``ValueError`` naming the file and line for a line without 5 or 6 fields, a time that is not a
    number, a negative or infinite start or duration, or a segment that starts before the previous segment of its
    utterance ends (CTMs list each utterance's segments in time order).
    """
    path = Path(path)
    result: dict[str, list[tuple[int, Segment]]] = {}
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields or fields[0].startswith(";;"):  # blank line or NIST comment
                continue
            if len(fields) not in (5, 6):
                raise ValueError(
                    f"{path}, line {line_no}: expected 'utt channel start duration token [confidence]', "
                    f"got {len(fields)} field(s)"
                )
            utt_id, _, start_text, duration_text, label = fields[:5]
            try:
                start, duration = float(start_text), float(duration_text)
            except ValueError:
                raise ValueError(
                    f"{path}, line {line_no}: start {start_text!r} or duration {duration_text!r} is not a number"
                ) from None
            if not (math.isfinite(start + duration) and start >= 0 and duration >= 0):
                raise ValueError(
                    f"{path}, line {line_no}: start and duration must be finite and >= 0 ({start_text} {duration_text})"
                )
            segment = Segment(label, round(start, _READ_DECIMALS), round(start + duration, _READ_DECIMALS))
            entries = result.setdefault(utt_id, [])
            if entries and segment.start < entries[-1][1].end:
                previous_line, previous = entries[-1]
                raise ValueError(
                    f"{path}, line {line_no}: {utt_id} segment {label!r} starts at {segment.start} s, before the "
                    f"segment on line {previous_line} ends ({previous.end} s); segments must be in time order "
                    "without overlap"
                )
            entries.append((line_no, segment))
    return result


def format_ctm(alignments: Mapping[str, Sequence[Segment]]) -> str:
    """Return the CTM text of ``alignments`` (utterances in the mapping's order, channel 1)."""
    lines = []
    for utt_id, segments in alignments.items():
        for segment in segments:
            if any(c.isspace() for c in segment.label) or not segment.label:
                raise ValueError(f"{utt_id}: label {segment.label!r} is empty or has whitespace")
            start = round(segment.start, TIME_DECIMALS)
            end = round(segment.end, TIME_DECIMALS)
            if not 0 <= start <= end:
                raise ValueError(f"{utt_id}: segment {segment} is not a time span")
            lines.append(f"{utt_id} 1 {start:.3f} {end - start:.3f} {segment.label}\n")
    return "".join(lines)


def write_ctm(path: str | os.PathLike, alignments: Mapping[str, Sequence[Segment]]) -> None:
    """Write ``alignments`` to ``path`` atomically (everything is checked before the file is replaced)."""
    atomic_write_text(path, format_ctm(alignments))
