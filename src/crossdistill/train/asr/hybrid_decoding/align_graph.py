"""The forced-alignment graph of one transcript: its words' phones with optional silence, as triphone HMM states.

Transcript -> phones through the lexicon (a word missing from it is one ``SPN`` phone, Kaldi's ``<UNK>``), with
an optional ``SIL`` before the first word, between any two words and after the last. Each phone is a 3-state
left-to-right HMM (``units.contexts``: states s1 s2 s3, each at least one frame, self-loops) whose states read the
senone that the tree gives for ``(left, phone, right, state)``. Contexts run across word boundaries, with ``SIL``
beyond the utterance edges (as the units' frame labels do), so a word-edge phone's senones depend on whether the
optional silence is taken: a word's first phone has one copy per possible left neighbour (the silence, or the
previous word's last phone) and its last phone one per right neighbour; a one-phone word has a copy per pair. A
path through the graph therefore always reads the senones of the contexts it actually passes through, as Kaldi's
context-dependent alignment graph does.

``skip_states=True`` lets a phone end after any of its states (one frame instead of three): the fallback for an
utterance too short for the 3-state topology, which forced alignment would otherwise have to drop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crossdistill.data.asr.phones import PHONE_IDS, SILENCE, SPOKEN_NOISE
from crossdistill.data.asr.units.contexts import N_STATES
from crossdistill.train.asr.hybrid_decoding.viterbi import StateGraph

SILENCE_ID = PHONE_IDS[SILENCE]
NO_WORD = -1


@dataclass(frozen=True)
class PhoneCopy:
    """One phone HMM of the graph: phone id, its left and right neighbour (phone ids), and the index of the
    transcript word it belongs to (``NO_WORD`` for an optional silence)."""

    phone: int
    left: int
    right: int
    word: int


@dataclass(frozen=True)
class AlignmentGraph:
    """``graph``'s state ``s`` is state ``s % 3`` of ``copies[s // 3]``."""

    graph: StateGraph
    copies: tuple[PhoneCopy, ...]


def transcript_pronunciations(words: Sequence[str], lexicon: Mapping[str, Sequence[str]]) -> list[tuple[str, ...]]:
    """Each word's phones from ``lexicon``; a word missing from it is ``(SPN,)``."""
    return [tuple(lexicon[word]) if word in lexicon else (SPOKEN_NOISE,) for word in words]


def min_frames(pronunciations: Sequence[Sequence[str]], skip_states: bool = False) -> int:
    """Frames the shortest path needs: 3 per phone (1 with ``skip_states``), silences skipped."""
    phones = sum(len(p) for p in pronunciations)
    return phones if skip_states else N_STATES * phones


def build_alignment_graph(
    pronunciations: Sequence[Sequence[str]], senone_table: np.ndarray, skip_states: bool = False
) -> AlignmentGraph:
    """The graph of a transcript given as its words' phones (``transcript_pronunciations``).

    ``senone_table``: ``SenoneTree.table()``, the senone of every ``[phone, state, left, right]``.
    """
    if not pronunciations or any(not p for p in pronunciations):
        raise ValueError("a transcript to align needs at least one word, and every word at least one phone")
    try:
        words = [[PHONE_IDS[phone] for phone in p] for p in pronunciations]
    except KeyError as error:
        raise ValueError(f"{error.args[0]!r} is not a phone of crossdistill.data.asr.phones.PHONES") from None
    builder = _Builder()
    entries, exits = [], []
    last = len(words) - 1
    for k, phones in enumerate(words):
        left = {"sil": SILENCE_ID} if k == 0 else {"sil": SILENCE_ID, "word": words[k - 1][-1]}
        right = {"sil": SILENCE_ID} if k == last else {"sil": SILENCE_ID, "word": words[k + 1][0]}
        entry, exit_ = builder.word(phones, left, right, k)
        entries.append(entry)
        exits.append(exit_)
    initial, final = list(entries[0]["sil"]), list(exits[last]["sil"])
    lead = builder.copy(SILENCE_ID, SILENCE_ID, words[0][0], NO_WORD)
    trail = builder.copy(SILENCE_ID, words[last][-1], SILENCE_ID, NO_WORD)
    builder.connect([lead], entries[0]["sil"])
    builder.connect(exits[last]["sil"], [trail])
    initial.append(lead)
    final.append(trail)
    for k in range(last):
        builder.connect(exits[k]["word"], entries[k + 1]["word"])
        pause = builder.copy(SILENCE_ID, words[k][-1], words[k + 1][0], NO_WORD)
        builder.connect(exits[k]["sil"], [pause])
        builder.connect([pause], entries[k + 1]["sil"])
    return AlignmentGraph(builder.graph(senone_table, initial, final, skip_states), tuple(builder.copies))


class _Builder:
    """Collects phone copies and the edges between them (from a copy's last state to another's first)."""

    def __init__(self) -> None:
        self.copies: list[PhoneCopy] = []
        self.edges: list[tuple[int, int]] = []

    def copy(self, phone: int, left: int, right: int, word: int) -> int:
        self.copies.append(PhoneCopy(phone, left, right, word))
        return len(self.copies) - 1

    def connect(self, sources: Sequence[int], targets: Sequence[int]) -> None:
        self.edges += [(a, b) for a in sources for b in targets]

    def word(
        self, phones: list[int], left: dict[str, int], right: dict[str, int], word: int
    ) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """Add one word's copies; returns its entry copies and exit copies by neighbour kind (``sil``/``word``)."""
        entry: dict[str, list[int]] = {kind: [] for kind in left}
        exit_: dict[str, list[int]] = {kind: [] for kind in right}
        if len(phones) == 1:
            for left_kind, left_phone in left.items():
                for right_kind, right_phone in right.items():
                    index = self.copy(phones[0], left_phone, right_phone, word)
                    entry[left_kind].append(index)
                    exit_[right_kind].append(index)
            return entry, exit_
        previous = []
        for left_kind, left_phone in left.items():
            index = self.copy(phones[0], left_phone, phones[1], word)
            entry[left_kind].append(index)
            previous.append(index)
        for j in range(1, len(phones) - 1):
            index = self.copy(phones[j], phones[j - 1], phones[j + 1], word)
            self.connect(previous, [index])
            previous = [index]
        for right_kind, right_phone in right.items():
            index = self.copy(phones[-1], phones[-2], right_phone, word)
            self.connect(previous, [index])
            exit_[right_kind].append(index)
        return entry, exit_

    def graph(self, table: np.ndarray, initial: list[int], final: list[int], skip_states: bool) -> StateGraph:
        copies = self.copies
        count = len(copies) * N_STATES
        columns = np.array(
            [table[c.phone, state, c.left, c.right] for c in copies for state in range(N_STATES)], dtype=np.int64
        )
        incoming: list[list[int]] = [[] for _ in copies]
        for source, target in self.edges:
            incoming[target].append(source)
        exits = range(N_STATES) if skip_states else (N_STATES - 1,)
        predecessors: list[list[int]] = []
        for index in range(len(copies)):
            first = index * N_STATES
            predecessors.append([first] + [source * N_STATES + e for source in incoming[index] for e in exits])
            predecessors += [[first + state, first + state - 1] for state in range(1, N_STATES)]
        width = max(len(p) for p in predecessors)
        table_of_predecessors = np.full((count, width), -1, dtype=np.int64)
        for state, sources in enumerate(predecessors):
            table_of_predecessors[state, : len(sources)] = sources
        starts = np.zeros(count, dtype=bool)
        starts[[i * N_STATES for i in initial]] = True
        ends = np.zeros(count, dtype=bool)
        ends[[i * N_STATES + e for i in final for e in exits]] = True
        return StateGraph(columns, table_of_predecessors, starts, ends)
