"""CTC prefix scores against brute force over every CTC path of tiny utterances, and the batched recursion against
one utterance at a time."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.students.asr.seq2seq.ctc_prefix import LOG_ZERO, CTCPrefixScorer, PrefixState

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


@settings(max_examples=25, deadline=None)
@given(frames=st.lists(st.integers(1, 7), min_size=1, max_size=4), seed=st.integers(0, 10_000))
def test_a_padded_batch_of_prefixes_scores_exactly_as_each_utterance_alone(frames, seed):
    """The vectorized recursion of a beam search step: every prefix of every utterance (several lengths, padding
    after each) extended at once equals its utterance's scorer extending it alone, to the last bit."""
    rng = np.random.default_rng(seed)
    padded = rng.normal(size=(len(frames), max(frames), 4)) * 2
    log_probs = padded - np.logaddexp.reduce(padded, axis=2, keepdims=True)
    batch = CTCPrefixScorer(log_probs, BLANK, EOS, frames)
    alone = [CTCPrefixScorer(log_probs[b, :n], BLANK, EOS) for b, n in enumerate(frames)]
    prefixes = [tuple(rng.integers(1, 3, size=rng.integers(0, 3)).tolist()) for _ in frames]
    states, states_alone = [], []
    for b, prefix in enumerate(prefixes):  # each prefix's state, built token by token in both scorers
        state, state_alone = batch.initial(b), alone[b].initial()
        for i, token in enumerate(prefix):
            last = prefix[i - 1] if i else -1
            r, psi = batch.extend_many([b], [last], [state], np.array([[token]]), np.ones((1, 1), bool))
            state = PrefixState(r[0, :, :, 0], float(psi[0, 0]))
            state_alone = alone[b].extend(prefix[:i], state_alone, np.array([token]))[0]
        states.append(state)
        states_alone.append(state_alone)
    candidates = np.array([[1, 2, EOS]] * len(frames))
    valid = rng.random(candidates.shape) < 0.8
    lasts = [prefix[-1] if prefix else -1 for prefix in prefixes]
    r, psi = batch.extend_many(range(len(frames)), lasts, states, candidates, valid)
    for b, n in enumerate(frames):
        expected = alone[b].extend(prefixes[b], states_alone[b], candidates[b])
        for k, state in enumerate(expected):
            assert psi[b, k] == (state.score if valid[b, k] else LOG_ZERO)
            np.testing.assert_array_equal(r[b, :n, :, k], state.r)


def test_bad_log_probs_are_refused():
    with pytest.raises(ValueError, match="log_probs must be"):
        CTCPrefixScorer(np.zeros((0, 4)), BLANK, EOS)
    with pytest.raises(ValueError, match=r"log_probs must be .* with B frame counts"):
        CTCPrefixScorer(np.zeros((2, 5, 4)), BLANK, EOS, frames=[5])
    with pytest.raises(ValueError, match=r"frames must lie in \[1, 5\], got \[5, 6\]"):
        CTCPrefixScorer(np.zeros((2, 5, 4)), BLANK, EOS, frames=[5, 6])
