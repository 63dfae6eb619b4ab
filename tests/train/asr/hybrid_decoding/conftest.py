"""Hand-made inputs for the decoding and alignment tests: a senone tree, a context-dependent senone table, peaked
scores built from a known segmentation, and a tiny hand-written trigram ARPA."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crossdistill.data.asr.phones import PHONE_IDS, PHONES, SILENCE
from crossdistill.data.asr.units.contexts import N_STATES
from crossdistill.data.asr.units.tree import Leaf, SenoneTree, Split

SIL = PHONE_IDS[SILENCE]
N_PHONES = len(PHONES)


def hand_tree() -> SenoneTree:
    """One leaf per phone state, except ``AA s1`` split on its left neighbour (``AA_s1_0`` after a vowel-free set):
    124 senones, ids in tree order."""
    roots = []
    counter = 0
    for index in range(N_PHONES * N_STATES):
        phone, state = divmod(index, N_STATES)
        prefix = f"{PHONES[phone]}_s{state + 1}"
        if index == 0:
            roots.append(Split("left", "Q_S", 1.0, 10, Leaf(0, f"{prefix}_0", 5), Leaf(1, f"{prefix}_1", 5)))
            counter = 2
        else:
            roots.append(Leaf(counter, f"{prefix}_0", 5))
            counter += 1
    return SenoneTree(phones=PHONES, questions={"Q_S": ("S",)}, roots=tuple(roots))


def context_table() -> np.ndarray:
    """A senone for every ``[phone, state, left, right]`` that depends on whether each neighbour is silence: four
    senones per phone state, so word-edge copies and optional silences read different senones."""
    table = np.zeros((N_PHONES, N_STATES, N_PHONES, N_PHONES), dtype=np.int64)
    left_sil = (np.arange(N_PHONES) == SIL)[:, None]
    right_sil = (np.arange(N_PHONES) == SIL)[None, :]
    for phone in range(N_PHONES):
        for state in range(N_STATES):
            table[phone, state] = (phone * N_STATES + state) * 4 + 2 * left_sil + right_sil
    return table


def peaked_scores(columns: Sequence[int], width: int, low: float = -10.0) -> np.ndarray:
    """(T, width) scores: 0 at each frame's true column, ``low`` elsewhere."""
    scores = np.full((len(columns), width), low)
    scores[np.arange(len(columns)), list(columns)] = 0.0
    return scores


TINY_ARPA = """\
\\data\\
ngram 1=7
ngram 2=4
ngram 3=1

\\1-grams:
-1.0\t<unk>\t0
-99\t<s>\t-0.3
-1.0\t</s>\t0
-0.7\tTHE\t-0.2
-1.3\tCAT\t-0.2
-1.3\tBAT\t-0.2
-1.0\tRUNS\t-0.2

\\2-grams:
-0.1\t<s> THE\t-0.1
-0.05\tTHE CAT\t-0.1
-0.3\tCAT RUNS\t0
-0.3\tBAT RUNS\t0

\\3-grams:
-0.02\t<s> THE CAT

\\end\\
"""
