"""A speed-perturbed copy's alignment: every time divided by the factor, and tilings stay tilings."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.alignments import tile_phones
from crossdistill.data.augment.signal import perturbed_length
from crossdistill.data.augment.timing import rescale_segments

RATE = 16000


def test_times_are_divided_by_the_factor_and_clipped_to_the_copy():
    segments = [Segment("a", 0.0, 0.5), Segment("b", 0.5, 0.9), Segment("c", 1.0, 1.8)]
    assert rescale_segments(segments, 0.5, 10.0) == [Segment("a", 0.0, 1.0), Segment("b", 1.0, 1.8),
                                                     Segment("c", 2.0, 3.6)]  # fmt: skip
    assert rescale_segments(segments, 2.0, 0.8) == [Segment("a", 0.0, 0.25), Segment("b", 0.25, 0.45),
                                                    Segment("c", 0.5, 0.8)]  # fmt: skip
    assert rescale_segments([Segment("x", 0.1, 0.2)], 1.1, 5.0, decimals=4) == [Segment("x", 0.0909, 0.1818)]


@st.composite
def tilings(draw):
    """(segments tiling [0, n / RATE), n samples): boundaries on whole milliseconds, as CTMs store them."""
    n_ms = draw(st.integers(min_value=30, max_value=4000))
    inner = draw(st.lists(st.integers(min_value=1, max_value=n_ms - 1), max_size=30, unique=True))
    bounds = [0, *sorted(inner), n_ms]
    segments = [Segment(f"p{i}", a / 1000, b / 1000) for i, (a, b) in enumerate(itertools.pairwise(bounds))]
    return segments, n_ms * RATE // 1000


@settings(max_examples=200, deadline=None)
@given(tilings(), st.floats(min_value=0.5, max_value=2.0), st.sampled_from([None, 3, 4]))
def test_rescaled_segments_tile_the_copy(tiling, speed, decimals):
    segments, n_samples = tiling
    duration = perturbed_length(n_samples, speed) / RATE
    rescaled = rescale_segments(segments, speed, duration, decimals)
    assert [s.label for s in rescaled] == [s.label for s in segments]
    assert rescaled[0].start == 0.0
    for before, after in itertools.pairwise(rescaled):
        assert before.end == after.start  # touching segments still touch
    for original, copy in zip(segments, rescaled, strict=True):
        assert copy.start <= copy.end
        slack = 0 if decimals is None else 0.5 * 10**-decimals + 1e-12
        assert abs(copy.start - min(original.start / speed, duration)) <= slack
        assert abs(copy.end - min(original.end / speed, duration)) <= slack
    # The last boundary is the original's end over the factor, at most half a sample (plus rounding) from the copy's
    # end; the reader's tiling then covers the copy exactly.
    assert abs(rescaled[-1].end - duration) <= 0.5 / RATE + (0 if decimals is None else 0.5 * 10**-decimals)
    tiled = tile_phones(rescaled, duration)
    assert tiled[0].start == 0.0 and tiled[-1].end == pytest.approx(duration, abs=1e-12)
    assert all(a.end == b.start for a, b in itertools.pairwise(tiled))
