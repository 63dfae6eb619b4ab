"""CTC prefix scores against brute force over every CTC path of tiny utterances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.students.asr.seq2seq.ctc_prefix import CTCPrefixScorer

BLANK, EOS = 0, 3  # 4 symbols: blank, two labels, and </s> (which CTC gives a column too, never a path)


def collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    merged = [s for i, s in enumerate(path) if i == 0 or s != path[i - 1]]
    return tuple(s for s in merged if s != BLANK)


def brute_force(log_probs: np.ndarray, prefix: tuple[int, ...], exact: bool) -> float:
    frames, symbols = log_probs.shape
    total = 0.0
    for path in itertools.product(range(symbols), repeat=frames):
        labels = collapse(path)
        if (labels == prefix) if exact else (labels[: len(prefix)] == prefix):
            total += float(np.exp(sum(log_probs[t, s] for t, s in enumerate(path))))
    return np.log(total) if total > 0 else -np.inf


def scored(scorer: CTCPrefixScorer, tokens: tuple[int, ...]) -> float:
    state, prefix = scorer.initial(), ()
    for token in tokens:
        state = scorer.extend(prefix, state, np.array([token]))[0]
        prefix = prefix if token == EOS else (*prefix, token)
    return state.score


@settings(max_examples=40, deadline=None)
@given(
    frames=st.integers(1, 5),
    prefix=st.lists(st.sampled_from([1, 2]), min_size=1, max_size=4),
    seed=st.integers(0, 10_000),
)
def test_prefix_and_end_scores_are_the_sums_over_ctc_paths(frames, prefix, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(frames, 4)) * 2
    logits[:, EOS] = -np.inf  # </s> is never a CTC path symbol
    log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    scorer = CTCPrefixScorer(log_probs, BLANK, EOS)
    prefix = tuple(prefix)
    expected = brute_force(log_probs, prefix, exact=False)
    if np.isfinite(expected):
        assert scored(scorer, prefix) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    else:
        assert scored(scorer, prefix) < -1e20
    ended = brute_force(log_probs, prefix, exact=True)
    if np.isfinite(ended):
        assert scored(scorer, (*prefix, EOS)) == pytest.approx(ended, rel=1e-9, abs=1e-9)


def test_extending_several_candidates_at_once_matches_one_at_a_time():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 4))
    log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    scorer = CTCPrefixScorer(log_probs, BLANK, EOS)
    state = scorer.extend((), scorer.initial(), np.array([1]))[0]
    together = scorer.extend((1,), state, np.array([1, 2, EOS]))
    for k, token in enumerate([1, 2, EOS]):
        alone = scorer.extend((1,), state, np.array([token]))[0]
        assert together[k].score == pytest.approx(alone.score)
        assert np.allclose(together[k].r, alone.r)


def test_bad_log_probs_are_refused():
    with pytest.raises(ValueError, match="log_probs must be"):
        CTCPrefixScorer(np.zeros((0, 4)), BLANK, EOS)
