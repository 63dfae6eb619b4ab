"""Paired tests of a cell against vanilla: hand values, power by simulation, and the properties they must keep."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from crossdistill.experiments.significance import (
    holm,
    mcnemar_detectable_effect,
    mcnemar_exact_p,
    min_seeds_for_sign_test,
    seed_test,
    t_test_detectable_effect,
    utterance_test,
)


def test_t_test_hand_value_and_seed_minimums():
    # df = 2: two-sided p = 1 - t / sqrt(t^2 + 2); differences 1, 2, 3 give t = 2 / (1 / sqrt 3).
    t = 2 * math.sqrt(3)
    assert seed_test([1.0, 2.0, 3.0]).t_p == pytest.approx(1 - t / math.sqrt(t * t + 2), rel=1e-9)
    # 95 % interval: mean 2 +- t_{0.975, 2} (4.302653) * sd 1 / sqrt 3
    half_width = 4.302653 / math.sqrt(3)
    assert seed_test([1.0, 2.0, 3.0]).interval == pytest.approx((2 - half_width, 2 + half_width))
    assert seed_test([0.5, 1.0]).interval is None
    for n in (1, 2):
        tests = seed_test([0.5] * n)
        assert tests.t_p is None and tests.t_note == f"not testable with {n} seed{'s' if n > 1 else ''} (needs 3)"
    assert seed_test([0.5, 0.5, 0.5]).t_note == "no spread across seeds: t undefined"
    # float32 rounding of equal error counts is a tie, not a spread that would make t enormous
    assert seed_test([1 / 6, 1 / 6 + 3e-8, 1 / 6 - 2e-8]).t_p is None


def test_sign_test_needs_six_seeds_at_five_percent():
    assert min_seeds_for_sign_test(0.05) == 6
    assert seed_test([-1.0] * 5).sign_p is None and "needs 6" in seed_test([-1.0] * 5).sign_note
    assert seed_test([-1.0] * 6).sign_p == pytest.approx(2 / 64)
    assert seed_test([-1.0, 1.0, 0.0, -1.0, 1.0, 0.0]).sign_p == 1.0


def test_t_test_power_holds_by_simulation():
    # At the stated standardized effect, a t-test on n normal differences rejects 80% of the time.
    rng = np.random.default_rng(0)
    for n in (3, 8):
        effect = t_test_detectable_effect(n)
        samples = rng.normal(effect, 1.0, size=(20000, n))
        rejected = (stats.ttest_1samp(samples, 0.0, axis=1).pvalue < 0.05).mean()
        assert rejected == pytest.approx(0.8, abs=0.015), n
    assert t_test_detectable_effect(3) > t_test_detectable_effect(8)


def test_mcnemar_hand_values():
    assert mcnemar_exact_p(0, 0) == 1.0
    assert mcnemar_exact_p(0, 6) == pytest.approx(2 / 64)
    assert mcnemar_exact_p(0, 5) == pytest.approx(2 / 32)
    assert mcnemar_detectable_effect(5, 600) is None  # 5 discordant utterances can never reach p < 0.05


def test_identical_predictions_give_p_one():
    correct = {0: {f"u{i}": i % 3 != 0 for i in range(600)}}
    result = utterance_test(correct, correct)
    assert result.p == 1.0 and result.discordant == 0 and result.difference_pp == 0.0


def test_a_known_large_difference_is_detected():
    # vanilla misses 120 of 600 utterances; the cell gets 90 of those right and misses 10 others: 40 errors
    # against 120, 13.3 pp apart.
    vanilla = {f"u{i}": i >= 120 for i in range(600)}
    cell = {f"u{i}": (i >= 30) and not (500 <= i < 510) for i in range(600)}
    result = utterance_test({0: cell}, {0: vanilla})
    assert (result.cell_only, result.vanilla_only, result.pairs) == (90, 10, 600)
    assert result.difference_pp == pytest.approx(-100 * 80 / 600)
    assert result.p < 1e-15
    assert result.detectable_pp < abs(result.difference_pp)


def test_seeds_combine_by_summing_discordant_counts():
    # Two seeds pulling in opposite directions cancel (Fisher's method on their two-sided p values would not).
    base = {f"u{i}": False for i in range(100)}
    better = {u: i < 10 for i, u in enumerate(base)}
    result = utterance_test({0: better, 1: base}, {0: base, 1: better})
    assert (result.cell_only, result.vanilla_only, result.seeds, result.pairs) == (10, 10, 2, 200)
    assert result.p == 1.0
    assert utterance_test({0: better}, {1: base}) is None  # no shared seed


def test_mcnemar_power_holds_by_simulation():
    discordant, pairs = 80, 600
    detectable = mcnemar_detectable_effect(discordant, pairs)
    share = 0.5 + detectable * pairs / (200 * discordant)  # the share of discordant pairs favouring one run
    favouring = np.random.default_rng(0).binomial(discordant, share, size=4000)
    rejected = np.mean([mcnemar_exact_p(int(k), discordant - int(k)) < 0.05 for k in favouring])
    assert rejected == pytest.approx(0.8, abs=0.03)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60))
def test_mcnemar_is_symmetric_and_one_on_balance(cell_only, vanilla_only):
    p = mcnemar_exact_p(cell_only, vanilla_only)
    assert 0 < p <= 1
    assert p == mcnemar_exact_p(vanilla_only, cell_only)
    assert (p == 1.0) == (abs(cell_only - vanilla_only) <= 1)  # a split as even as the count allows


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=200))
def test_a_run_against_itself_never_differs(correct):
    run = {0: {f"u{i}": ok for i, ok in enumerate(correct)}}
    assert utterance_test(run, run).p == 1.0


def test_holm_hand_values():
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "c": 0.06, "b": 0.06})
    assert holm({"a": 0.6, "b": 0.9}) == pytest.approx({"a": 1.0, "b": 1.0})
    assert holm({}) == {}
