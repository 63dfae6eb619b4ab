"""Speaker-clustered bootstrap of test error and of paired differences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.experiments.speaker_bootstrap import bootstrap_difference, bootstrap_error


def _speaker_of(speakers: int, per_speaker: int) -> dict[str, str]:
    return {f"s{k}/u{i}": f"s{k}" for k in range(speakers) for i in range(per_speaker)}


def test_two_speakers_by_hand():
    # Speaker a: 1 of 2 wrong, speaker b: none. Resamples draw (a, a), (a, b) or (b, b) with probability 1/4, 1/2,
    # 1/4: errors 50 %, 25 % and 0 %, so the 95 % interval runs from 0 to 50 %.
    speaker_of = {"a/1": "a", "a/2": "a", "b/1": "b", "b/2": "b"}
    cell = {0: {"a/1": False, "a/2": True, "b/1": True, "b/2": True}}
    interval = bootstrap_error(cell, speaker_of)
    assert (interval.estimate, interval.low, interval.high) == (25.0, 0.0, 50.0)
    assert (interval.speakers, interval.utterances, interval.seeds) == (2, 4, 1)


def test_errors_clustered_in_one_speaker_give_a_wide_interval():
    # 10 speakers x 10 utterances, all errors from one voice: 10 % error. Resampling utterances would give about
    # +-6 pp; resampling speakers gives the spread of how often that voice is drawn (0 to 3 times in most draws).
    speaker_of = _speaker_of(10, 10)
    cell = {0: {u: s != "s0" for u, s in speaker_of.items()}}
    interval = bootstrap_error(cell, speaker_of)
    assert interval.estimate == pytest.approx(10.0)
    assert interval.low == 0.0 and interval.high >= 30.0


def test_seeds_are_averaged_and_the_result_is_deterministic():
    speaker_of = _speaker_of(4, 5)
    utts = sorted(speaker_of)
    cell = {0: {u: i % 2 == 0 for i, u in enumerate(utts)}, 3: {u: i % 4 != 0 for i, u in enumerate(utts)}}
    first = bootstrap_error(cell, speaker_of, seed=1)
    assert first.estimate == pytest.approx((50.0 + 25.0) / 2)
    assert first == bootstrap_error(cell, speaker_of, seed=1)
    assert first.seeds == 2


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=6), min_size=1, max_size=6),
    st.integers(0, 100),
)
def test_difference_is_antisymmetric_and_zero_against_itself(speakers, seed):
    speaker_of, cell, baseline = {}, {0: {}}, {0: {}}
    for k, utterances in enumerate(speakers):
        for i, (right_cell, right_base) in enumerate(utterances):
            speaker_of[f"s{k}/u{i}"] = f"s{k}"
            cell[0][f"s{k}/u{i}"], baseline[0][f"s{k}/u{i}"] = right_cell, right_base
    forward = bootstrap_difference(cell, baseline, speaker_of, resamples=200, seed=seed)
    backward = bootstrap_difference(baseline, cell, speaker_of, resamples=200, seed=seed)
    assert forward.estimate == pytest.approx(-backward.estimate, abs=1e-9)
    assert forward.low == pytest.approx(-backward.high, abs=1e-9)
    assert forward.high == pytest.approx(-backward.low, abs=1e-9)
    same = bootstrap_difference(cell, cell, speaker_of, resamples=200, seed=seed)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    error_cell = bootstrap_error(cell, speaker_of, resamples=10).estimate
    error_base = bootstrap_error(baseline, speaker_of, resamples=10).estimate
    assert forward.estimate == pytest.approx(error_cell - error_base, abs=1e-9)


def test_only_shared_seeds_and_utterances_count():
    speaker_of = _speaker_of(2, 2)
    cell = {0: dict.fromkeys(speaker_of, True), 1: dict.fromkeys(speaker_of, False)}
    baseline = {1: dict.fromkeys(speaker_of, True)}
    interval = bootstrap_difference(cell, baseline, speaker_of)
    assert interval.seeds == 1 and interval.estimate == 100.0
    assert bootstrap_difference(cell, {7: {}}, speaker_of) is None
    assert bootstrap_error({}, speaker_of) is None
