"""Viterbi over a small HMM state graph: the best state of every frame, vectorised over states with NumPy.

A ``StateGraph`` lists states (each reads one column of a frame-score matrix, e.g. its senone), each state's
predecessors (its own self-loop included), and which states may start and end a path. All transitions cost 0:
the path score is the sum of its frames' scores, as in forced alignment with a transition scale of 0. The loop
runs over frames; every frame is one gather and one max over the ``(S, P)`` predecessor table, so an utterance of
T frames and S states costs O(T * S * P) with no Python work per state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class NoPathError(ValueError):
    """No path of the graph fits the frames (fewer frames than the graph's shortest path)."""


@dataclass(frozen=True)
class StateGraph:
    """An HMM as a graph of states.

    Fields:
      columns: (S,) int64, the score column each state reads (a senone id).
      predecessors: (S, P) int64, the states each state can be entered from (self included), padded with -1.
      initial, final: (S,) bool, states a path may start in and end in.
    """

    columns: np.ndarray
    predecessors: np.ndarray
    initial: np.ndarray
    final: np.ndarray

    def __post_init__(self) -> None:
        states = len(self.columns)
        if self.predecessors.shape[0] != states or self.initial.shape != (states,) or self.final.shape != (states,):
            raise ValueError("columns, predecessors, initial and final must describe the same number of states")
        if self.predecessors.size and (self.predecessors.max() >= states or self.predecessors.min() < -1):
            raise ValueError("predecessors must be state ids or -1")

    @property
    def num_states(self) -> int:
        return len(self.columns)


def viterbi(graph: StateGraph, scores: np.ndarray) -> tuple[np.ndarray, float]:
    """The best path through ``graph`` for ``(T, C)`` frame scores: ``(T,)`` state per frame and its total score.

    Ties go to the lowest predecessor slot (a fixed order), so results are exact repeats. Raises ``NoPathError``
    when no path of T frames goes from an initial to a final state.
    """
    scores = np.asarray(scores, dtype=np.float64)
    frames = scores.shape[0]
    if scores.ndim != 2 or not frames:
        raise ValueError(f"scores must be (frames > 0, columns), got shape {scores.shape}")
    if graph.columns.size and graph.columns.max() >= scores.shape[1]:
        raise ValueError(f"the graph reads column {graph.columns.max()}, the scores have {scores.shape[1]}")
    emitted = scores[:, graph.columns]  # (T, S)
    states = graph.num_states
    # Slot ``states`` is a sentinel that always holds -inf: padding (-1) points there.
    predecessors = np.where(graph.predecessors < 0, states, graph.predecessors)
    rows = np.arange(states)
    best = np.full(states + 1, -np.inf)
    best[:states] = np.where(graph.initial, emitted[0], -np.inf)
    choice = np.zeros((frames, states), dtype=np.int8 if predecessors.shape[1] < 128 else np.int32)
    for t in range(1, frames):
        candidates = best[predecessors]  # (S, P)
        slot = candidates.argmax(axis=1)
        choice[t] = slot
        best[:states] = candidates[rows, slot] + emitted[t]
    ending = np.where(graph.final, best[:states], -np.inf)
    last = int(ending.argmax())
    total = float(ending[last])
    if not np.isfinite(total):
        raise NoPathError(f"no path of {frames} frames through the {states}-state graph")
    path = np.empty(frames, dtype=np.int64)
    path[-1] = last
    for t in range(frames - 1, 0, -1):
        path[t - 1] = predecessors[path[t], choice[t, path[t]]]
    return path, total
