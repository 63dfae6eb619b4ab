"""The utterance-level WER test (Wilcoxon signed-rank on per-utterance word errors, seeds averaged per utterance):
hand values against scipy, and the properties it must keep."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from crossdistill.experiments.significance import t_test_detectable_effect, word_error_test

WORDS = {f"u{i}": 10 for i in range(8)}


def errors(*counts: int) -> dict[str, int]:
    return {f"u{i}": c for i, c in enumerate(counts)}


def test_hand_values_average_seeds_per_utterance_and_match_scipy():
    cell = {0: errors(0, 1, 2, 0, 1, 3, 0, 2), 1: errors(1, 1, 0, 0, 2, 3, 0, 1)}
    base = {0: errors(2, 1, 3, 1, 1, 5, 0, 2), 1: errors(2, 2, 2, 0, 1, 4, 1, 3)}
    test = word_error_test(cell, base, WORDS)
    # per utterance, mean over the two seeds of cell - baseline
    d = [-1.5, -0.5, -1.5, -0.5, 0.5, -1.5, -0.5, -1.0]
    assert (test.better, test.worse, test.tied) == (7, 1, 0)
    assert test.difference_pp == pytest.approx(100 * sum(d) / 80)
    assert test.p == pytest.approx(stats.wilcoxon(d).pvalue)
    assert test.detectable_pp == pytest.approx(100 * t_test_detectable_effect(8) * statistics.stdev(d) * 8 / 80)
    assert (test.seeds, test.utterances, test.reference_words) == (2, 8, 80)


def test_ties_are_dropped_and_only_shared_seeds_and_utterances_count():
    cell = {0: errors(0, 0, 3, 1), 5: errors(9, 9, 9, 9)}
    base = {0: {**errors(0, 0, 1, 2), "extra": 4}}
    test = word_error_test(cell, base, WORDS | {"extra": 3})
    assert (test.seeds, test.utterances, test.tied, test.better, test.worse) == (1, 4, 2, 1, 1)
    assert test.p == pytest.approx(stats.wilcoxon([2, -1]).pvalue)
    assert word_error_test({1: errors(1)}, {0: errors(1)}, WORDS) is None
    same = word_error_test({0: errors(1, 2, 3)}, {0: errors(1, 2, 3)}, WORDS)
    assert same.p == 1.0 and same.difference_pp == 0 and same.detectable_pp is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(*[st.integers(0, 6)] * 4), min_size=2, max_size=30))
def test_swapping_the_systems_flips_the_direction_and_keeps_p(rows):
    words = {f"u{i}": 12 for i in range(len(rows))}
    a = {s: {f"u{i}": row[s] for i, row in enumerate(rows)} for s in (0, 1)}
    b = {s: {f"u{i}": row[2 + s] for i, row in enumerate(rows)} for s in (0, 1)}
    forward, backward = word_error_test(a, b, words), word_error_test(b, a, words)
    assert forward.p == pytest.approx(backward.p)
    assert 0.0 <= forward.p <= 1.0
    assert (forward.better, forward.worse, forward.tied) == (backward.worse, backward.better, backward.tied)
    assert forward.difference_pp == pytest.approx(-backward.difference_pp)
    # the pooled difference is the difference of the seed-averaged WERs
    wer = {name: statistics.mean(100 * sum(system[s].values()) / sum(words.values()) for s in (0, 1))
           for name, system in (("a", a), ("b", b))}  # fmt: skip
    assert forward.difference_pp == pytest.approx(wer["a"] - wer["b"])
