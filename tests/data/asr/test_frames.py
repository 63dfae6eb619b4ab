"""The 10 ms frame grid and labelling frames from segments (the contract's rule, checked against integer ms)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lhotse.utils import compute_num_frames

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.frames import frame_labels, frame_segment_indices, num_frames


@given(st.integers(min_value=0, max_value=10_000_000))
def test_num_frames_is_lhotse_compute_num_frames(n):
    assert num_frames(n) == (n + 80) // 160
    assert num_frames(n) == compute_num_frames(n / 16000, frame_shift=0.01, sampling_rate=16000)


def test_num_frames_rejects_negative():
    with pytest.raises(ValueError, match="num_samples"):
        num_frames(-1)


@st.composite
def tiling(draw):
    """Segments tiling [0, end) with boundaries on whole milliseconds (as 3-decimal CTM times), and a frame count
    that may run past the end."""
    durations = draw(st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=30))
    bounds_ms = [0]
    for d in durations:
        bounds_ms.append(bounds_ms[-1] + d)
    segments = [Segment(f"L{i}", a / 1000, b / 1000) for i, (a, b) in enumerate(itertools.pairwise(bounds_ms))]
    n_frames = draw(st.integers(min_value=0, max_value=bounds_ms[-1] // 10 + 3))
    return segments, bounds_ms, n_frames


def reference_index(bounds_ms: list[int], frame: int) -> int:
    centre_tenths = 100 * frame + 50  # centre of frame i in tenths of a millisecond
    for i, (a, b) in enumerate(itertools.pairwise(bounds_ms)):
        if 10 * a <= centre_tenths < 10 * b:
            return i
    return len(bounds_ms) - 2  # past the end: the last segment


@given(tiling())
def test_every_frame_gets_the_segment_holding_its_centre(case):
    segments, bounds_ms, n_frames = case
    labels = frame_labels(segments, n_frames)
    assert len(labels) == n_frames
    assert labels == [f"L{reference_index(bounds_ms, i)}" for i in range(n_frames)]


@given(tiling(), st.data())
def test_gaps_get_the_gap_label_and_nothing_else(case, data):
    segments, bounds_ms, n_frames = case
    dropped = data.draw(st.sets(st.integers(min_value=0, max_value=len(segments) - 1)))
    if len(dropped) == len(segments):
        dropped.discard(len(segments) - 1)
    kept = [s for i, s in enumerate(segments) if i not in dropped]
    labels = frame_labels(kept, n_frames, gap="<gap>")
    expected = []
    last_kept = max(i for i in range(len(segments)) if i not in dropped)
    for frame in range(n_frames):
        index = reference_index(bounds_ms, frame)
        if 100 * frame + 50 >= 10 * bounds_ms[last_kept + 1]:
            index = last_kept  # past the last kept segment's end
        expected.append("<gap>" if index in dropped else f"L{index}")
    assert labels == expected


def test_a_frame_in_a_gap_without_gap_label_is_an_error():
    segments = [Segment("A", 0.0, 0.05), Segment("B", 0.1, 0.2)]
    with pytest.raises(ValueError, match="frame 5"):
        frame_labels(segments, 20)


def test_overlapping_segments_are_an_error():
    with pytest.raises(ValueError, match="starts before"):
        frame_segment_indices([Segment("A", 0.0, 0.05), Segment("B", 0.04, 0.2)], 20)


def test_zero_length_segments_label_no_frame():
    segments = [Segment("A", 0.0, 0.05), Segment("Z", 0.05, 0.05), Segment("B", 0.05, 0.1)]
    assert frame_labels(segments, 10) == ["A"] * 5 + ["B"] * 5


def test_past_the_end_frames_are_gaps_when_not_extended():
    segments = [Segment("A", 0.0, 0.05), Segment("B", 0.05, 0.1)]
    assert frame_labels(segments, 13) == ["A"] * 5 + ["B"] * 8
    assert frame_labels(segments, 13, gap="-", extend_last=False) == ["A"] * 5 + ["B"] * 5 + ["-"] * 3
