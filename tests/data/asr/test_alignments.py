"""Phone labels of real aligners onto PHONES, silence filling, and word checks."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.alignments import AlignmentError, normalize_phone, tile_phones, validate_words
from crossdistill.data.asr.phones import ARPABET, SILENCE


@pytest.mark.parametrize(
    ("label", "phone"),
    [("AH0_B", "AH"), ("ah1", "AH"), ("T_E", "T"), ("OW2", "OW"), ("sil", "SIL"), ("SIL_S", "SIL"), ("sp", "SIL"),
     ("", "SIL"), ("spn", "SPN"), ("<unk>", "SPN"), ("ZH", "ZH")],
)  # fmt: skip
def test_normalize_phone(label, phone):
    assert normalize_phone(label) == phone


@pytest.mark.parametrize("label", ["Q", "AH5", "AX", "ah0_X"])
def test_unknown_phones_are_errors(label):
    with pytest.raises(ValueError, match="is not one of the 41 phones"):
        normalize_phone(label)


@st.composite
def phones_with_gaps(draw):
    """Non-overlapping phones on whole milliseconds, with gaps, and a duration at or after the last end."""
    cursor, segments = 0, []
    for _ in range(draw(st.integers(0, 10))):
        start = cursor + draw(st.integers(0, 30))
        end = start + draw(st.integers(1, 200))
        segments.append(Segment(draw(st.sampled_from(ARPABET)), start / 1000, end / 1000))
        cursor = end
    return segments, (cursor + draw(st.integers(0, 300))) / 1000


@given(phones_with_gaps())
def test_tiled_phones_cover_the_audio_exactly_once_and_keep_every_phone(case):
    phones, duration = case
    tiled = tile_phones(phones, duration)
    if duration > 0:
        assert tiled[0].start == 0 and tiled[-1].end == duration
    assert all(a.end == b.start for a, b in itertools.pairwise(tiled))
    assert all(s.end > s.start for s in tiled)
    assert [s for s in tiled if s.label != SILENCE] == phones
    assert not any(a.label == b.label == SILENCE for a, b in itertools.pairwise(tiled))


def test_tiling_clips_a_rounding_overrun_and_refuses_more():
    assert tile_phones([Segment("AA", 0.0, 1.005)], 1.0) == (Segment("AA", 0.0, 1.0),)
    with pytest.raises(AlignmentError, match=r"ends at 1.02 s, after the end of the audio") as caught:
        tile_phones([Segment("AA", 0.0, 0.5), Segment("B", 0.5, 1.02)], 1.0)
    assert caught.value.index == 1
    with pytest.raises(AlignmentError, match="overlaps") as caught:
        tile_phones([Segment("AA", 0.0, 0.5), Segment("B", 0.4, 0.6)], 1.0)
    assert caught.value.index == 1


def test_validate_words():
    words = [Segment("hello", 0.1, 0.4), Segment("WORLD", 0.4, 1.004)]
    assert validate_words(words, ["HELLO", "WORLD"], 1.0) == (Segment("HELLO", 0.1, 0.4), Segment("WORLD", 0.4, 1.0))
    with pytest.raises(AlignmentError, match="'HELLO WORD' do not match the transcript 'HELLO WORLD'") as caught:
        validate_words([Segment("HELLO", 0.1, 0.4), Segment("WORD", 0.4, 0.8)], ["HELLO", "WORLD"], 1.0)
    assert caught.value.index == 1
    with pytest.raises(AlignmentError, match="do not match"):
        validate_words(words[:1], ["HELLO", "WORLD"], 1.0)
    with pytest.raises(AlignmentError, match="after the end of the audio"):
        validate_words(words, ["HELLO", "WORLD"], 0.9)
