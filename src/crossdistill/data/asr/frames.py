"""The 10 ms frame grid of paper 001's side and labelling frames from time-aligned segments.

Frames: 25 ms window, 10 ms shift at 16 kHz, not snipped at the edges, so an utterance of ``n`` samples has
``(n + 80) // 160`` frames (lhotse's ``compute_num_frames``; CORPUS's fbank features give exactly that many).
Frame ``i`` stands for the instant ``(i + 0.5) * 10 ms`` and takes the label of the segment containing it;
frames past the end of the last segment take the last segment's label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crossdistill.data.alignments import Segment

SAMPLE_RATE = 16_000
FRAME_SHIFT_S = 0.01
HOP_SAMPLES = 160  # FRAME_SHIFT_S * SAMPLE_RATE

# Segment times are converted to frame units and rounded to this many decimals before comparing them with
# frame centres, so that a boundary written as 0.125 s compares equal to the centre of frame 12, whatever the
# binary rounding of 0.125 * 100.
_TIME_DECIMALS = 6


def num_frames(num_samples: int) -> int:
    """Number of 10 ms frames of an utterance of ``num_samples`` samples at 16 kHz."""
    if num_samples < 0:
        raise ValueError(f"num_samples must be >= 0, got {num_samples}")
    return (int(num_samples) + HOP_SAMPLES // 2) // HOP_SAMPLES


def frame_centres(n_frames: int) -> np.ndarray:
    """Centre of each frame in frame units (frame ``i`` -> ``i + 0.5``)."""
    return np.arange(n_frames, dtype=np.float64) + 0.5


def segment_bounds(segments: Sequence[Segment]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of each segment in frame units, checked to be in time order without overlap."""
    starts = np.round(np.array([s.start for s in segments], dtype=np.float64) / FRAME_SHIFT_S, _TIME_DECIMALS)
    ends = np.round(np.array([s.end for s in segments], dtype=np.float64) / FRAME_SHIFT_S, _TIME_DECIMALS)
    for i, segment in enumerate(segments):
        if not segment.start >= 0 or not ends[i] >= starts[i]:
            raise ValueError(f"segment {i} ({segment.label!r}, {segment.start}-{segment.end} s) is not a time span")
        if i and starts[i] < ends[i - 1]:
            raise ValueError(
                f"segment {i} ({segment.label!r} at {segment.start} s) starts before segment {i - 1} ends "
                f"({segments[i - 1].end} s): segments must be in time order without overlap"
            )
    return starts, ends


def frame_segment_indices(segments: Sequence[Segment], n_frames: int, extend_last: bool = True) -> np.ndarray:
    """For each frame, the index of the segment containing its centre, or -1 where the centre is in a gap.

    Gaps are time before the first segment or between two segments. Frames whose centre lies at or past the
    end of the last segment take the last segment (the contract's rule for alignments that tile the audio), or
    are gaps with ``extend_last=False`` (for word alignments, whose last word may be followed by silence).
    Segments of zero duration contain no instant and label no frame. Raises ``ValueError`` when segments
    overlap or are out of order.
    """
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    result = np.full(n_frames, -1, dtype=np.int64)
    if not segments or not n_frames:
        return result
    starts, ends = segment_bounds(segments)
    kept = np.flatnonzero(ends > starts)
    if not kept.size:
        return result
    centres = frame_centres(n_frames)
    position = np.searchsorted(starts[kept], centres, side="right") - 1  # last kept segment starting <= centre
    started = position >= 0
    candidate = kept[np.maximum(position, 0)]
    inside = started & (centres < ends[candidate])
    result[inside] = candidate[inside]
    if extend_last:
        result[centres >= ends[kept[-1]]] = kept[-1]
    return result


def frame_labels(
    segments: Sequence[Segment], n_frames: int, gap: str | None = None, extend_last: bool = True
) -> list[str]:
    """The label of every frame: its segment's label, or ``gap`` for frames in a gap (``frame_segment_indices``).

    With ``gap=None`` a frame in a gap is an error (phone alignments tile the utterance, so none is expected).
    """
    indices = frame_segment_indices(segments, n_frames, extend_last)
    if gap is None and (indices < 0).any():
        frame = int(np.flatnonzero(indices < 0)[0])
        raise ValueError(
            f"frame {frame} (centre {(frame + 0.5) * FRAME_SHIFT_S:.3f} s) lies in no segment "
            "and no gap label was given"
        )
    return [segments[i].label if i >= 0 else gap for i in indices.tolist()]
