"""Viterbi over a state graph equals the best of all paths, found by brute force on small random graphs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.train.asr.hybrid_decoding.viterbi import NoPathError, StateGraph, viterbi


@st.composite
def graphs_and_scores(draw):
    states = draw(st.integers(1, 4))
    predecessors = [sorted(draw(st.sets(st.integers(0, states - 1), max_size=states))) for _ in range(states)]
    width = max(1, max(len(p) for p in predecessors))
    table = np.full((states, width), -1, dtype=np.int64)
    for s, p in enumerate(predecessors):
        table[s, : len(p)] = p
    initial = np.array(draw(st.lists(st.booleans(), min_size=states, max_size=states)))
    final = np.array(draw(st.lists(st.booleans(), min_size=states, max_size=states)))
    columns = np.array(draw(st.lists(st.integers(0, 2), min_size=states, max_size=states)))
    frames = draw(st.integers(1, 5))
    scores = np.array(draw(st.lists(st.integers(-5, 5), min_size=3 * frames, max_size=3 * frames)), float)
    return StateGraph(columns, table, initial, final), scores.reshape(frames, 3)


def brute_force(graph: StateGraph, scores: np.ndarray) -> float:
    best = -np.inf
    for path in itertools.product(range(graph.num_states), repeat=len(scores)):
        if not graph.initial[path[0]] or not graph.final[path[-1]]:
            continue
        if any(a not in graph.predecessors[b] for a, b in itertools.pairwise(path)):
            continue
        best = max(best, sum(scores[t, graph.columns[s]] for t, s in enumerate(path)))
    return best


@settings(max_examples=150, deadline=None)
@given(graphs_and_scores())
def test_viterbi_finds_the_best_path(case):
    graph, scores = case
    expected = brute_force(graph, scores)
    if not np.isfinite(expected):
        with pytest.raises(NoPathError):
            viterbi(graph, scores)
        return
    path, total = viterbi(graph, scores)
    assert total == pytest.approx(expected)
    # The returned path is a path of the graph and scores what it claims.
    assert graph.initial[path[0]] and graph.final[path[-1]]
    assert all(a in graph.predecessors[b] for a, b in itertools.pairwise(path.tolist()))
    assert sum(scores[t, graph.columns[s]] for t, s in enumerate(path)) == pytest.approx(total)


def test_bad_scores_are_errors():
    graph = StateGraph(np.array([0, 5]), np.array([[0, -1], [0, 1]]), np.array([True, False]), np.array([False, True]))
    with pytest.raises(ValueError, match="reads column 5"):
        viterbi(graph, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="frames > 0"):
        viterbi(graph, np.zeros((0, 6)))
