"""Forced alignment: a path built from a known segmentation (phone states, optional silences, triphone contexts)
with peaked scores is recovered exactly; the boundary error measures what it should."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.ctm import read_ctm, write_ctm
from crossdistill.data.asr.phones import PHONE_IDS
from crossdistill.train.asr.hybrid_decoding.alignment import (
    align_utterance,
    combine_boundary_errors,
    phone_boundary_errors,
)
from crossdistill.train.asr.hybrid_decoding.viterbi import NoPathError

from .conftest import SIL, context_table, peaked_scores

LEXICON = {"THE": ("DH", "AH"), "CAT": ("K", "AE", "T"), "TOOK": ("T", "UH", "K"), "A": ("AH",), "AH": ("AA",)}
OOV = "ZEBRA"  # not in the lexicon: aligned as one SPN phone
TABLE = context_table()
SENONES = int(TABLE.max()) + 1


@st.composite
def segmentations(draw):
    """(words, [(phone, word index or -1, frames per state)...]): words with silences taken or not."""
    words = draw(st.lists(st.sampled_from([*sorted(LEXICON), OOV]), min_size=1, max_size=4))
    phones = []

    def pause():
        if draw(st.booleans()):
            phones.append(("SIL", -1, draw(st.lists(st.integers(1, 3), min_size=3, max_size=3))))

    pause()
    for index, word in enumerate(words):
        for phone in LEXICON.get(word, ("SPN",)):
            phones.append((phone, index, draw(st.lists(st.integers(1, 4), min_size=3, max_size=3))))
        pause()
    return words, phones


def truth(words, phones):
    """Frame columns, phone segments and word segments of a segmentation."""
    ids = [PHONE_IDS[p] for p, _, _ in phones]
    columns, phone_segments, spans = [], [], {}
    for k, (phone, word, durations) in enumerate(phones):
        left = ids[k - 1] if k else SIL
        right = ids[k + 1] if k + 1 < len(ids) else SIL
        start = len(columns)
        for state, frames in enumerate(durations):
            columns += [TABLE[ids[k], state, left, right]] * frames
        segment = Segment(phone, round(start * 0.01, 6), round(len(columns) * 0.01, 6))
        phone_segments.append(segment)
        if word >= 0:
            spans.setdefault(word, [segment.start, segment.end])[1] = segment.end
    word_segments = [Segment(words[k], *spans[k]) for k in range(len(words))]
    return columns, phone_segments, word_segments


@settings(max_examples=80, deadline=None)
@given(segmentations())
def test_a_known_segmentation_is_recovered_exactly(case):
    words, phones = case
    columns, phone_segments, word_segments = truth(words, phones)
    duration = round(len(columns) * 0.01, 6)
    result = align_utterance(words, LEXICON, TABLE, peaked_scores(columns, SENONES), duration)
    assert list(result.alignment.phones) == phone_segments
    assert list(result.alignment.words) == word_segments
    assert result.score == 0.0 and not result.fallback
    errors = phone_boundary_errors(phone_segments, result.alignment.phones)
    assert errors.summary()["mean_abs_ms"] == 0.0 and errors.summary()["within_20ms"] == 1.0


def test_segments_tile_the_audio_and_survive_a_ctm_round_trip(tmp_path):
    phones = [("SIL", -1, [2, 2, 2]), ("DH", 0, [1, 2, 1]), ("AH", 0, [3, 1, 1]), ("K", 1, [1, 1, 1]),
              ("AE", 1, [2, 2, 2]), ("T", 1, [1, 1, 2])]  # fmt: skip
    columns, _, _ = truth(["THE", "CAT"], phones)
    duration = len(columns) * 0.01 - 0.004  # the last frame reaches 4 ms past the audio
    result = align_utterance(["THE", "CAT"], LEXICON, TABLE, peaked_scores(columns, SENONES), duration)
    phones = result.alignment.phones
    assert phones[0].start == 0 and phones[-1].end == duration
    assert all(a.end == b.start for a, b in itertools.pairwise(phones))
    write_ctm(tmp_path / "p.ctm", {"u": phones})
    assert read_ctm(tmp_path / "p.ctm")["u"] == [Segment(s.label, s.start, round(s.end, 3)) for s in phones]


def test_too_few_frames_fall_back_to_one_frame_per_phone_or_fail():
    # THE CAT has 5 phones: 15 frames for 3 states each, 5 with the fallback.
    scores = np.zeros((8, SENONES))
    result = align_utterance(["THE", "CAT"], LEXICON, TABLE, scores, 0.08)
    assert result.fallback
    assert [s.label for s in result.alignment.phones if s.label != "SIL"] == ["DH", "AH", "K", "AE", "T"]
    with pytest.raises(NoPathError, match="4 frames cannot hold the transcript's 5 phones"):
        align_utterance(["THE", "CAT"], LEXICON, TABLE, np.zeros((4, SENONES)), 0.04)


def test_boundary_errors_count_matched_phones_only():
    reference = [Segment("SIL", 0, 0.1), Segment("K", 0.1, 0.2), Segment("AE", 0.2, 0.3), Segment("T", 0.3, 0.4)]
    # No leading silence (K starts 100 ms early), the AE/T boundary 30 ms late with an extra D (50 ms) before T.
    hypothesis = [Segment("K", 0.0, 0.2), Segment("AE", 0.2, 0.33), Segment("D", 0.33, 0.35), Segment("T", 0.35, 0.4)]
    errors = phone_boundary_errors(reference, hypothesis)
    assert errors.matched_phones == 3 and errors.reference_phones == 3
    np.testing.assert_allclose(sorted(errors.errors), [0, 0, 0, 0.03, 0.05, 0.1], atol=1e-9)
    summary = combine_boundary_errors([errors, phone_boundary_errors(reference, reference)]).summary()
    assert summary["boundaries"] == 12
    assert summary["mean_abs_ms"] == pytest.approx(180 / 12)
    assert summary["within_20ms"] == pytest.approx(9 / 12, abs=1e-4)
