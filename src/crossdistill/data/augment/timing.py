"""Alignment times of a speed-perturbed copy: a time ``t`` of the original is ``t / speed`` in the copy."""

from __future__ import annotations

from collections.abc import Sequence

from crossdistill.data.alignments import Segment


def rescale_segments(
    segments: Sequence[Segment], speed: float, duration: float, decimals: int | None = None
) -> list[Segment]:
    """``segments`` with every boundary divided by ``speed``, clipped to the copy's ``duration`` (seconds).

    ``decimals`` rounds the boundaries as the alignment format stores them (None: left to the writer). Every boundary
    goes through the same monotone map, so segments that touched still touch, none overlaps, and a segment list
    that tiled the original tiles the copy.
    """

    def scaled(t: float) -> float:
        value = min(t / speed, duration)
        return value if decimals is None else round(value, decimals)

    return [Segment(s.label, scaled(s.start), scaled(s.end)) for s in segments]
