"""Forced alignment of one utterance (Viterbi over its ``align_graph``), its segments, and boundary errors.

Times: frame ``i`` covers ``[i, i + 1) * 10 ms`` (its centre ``(i + 0.5) * 10 ms`` is what the contract's frame
labels read), so a phone of frames ``a..b`` spans ``[a * 10 ms, (b + 1) * 10 ms)``; the last phone ends at the
end of the audio (the last frame can reach up to 5 ms past it, or stop up to 5 ms short). Phones tile
``[0, duration)`` with ``SIL`` segments where the optional silences were taken; words span their phones.

Phone-boundary error against a reference alignment (the synthetic corpus's true one): the two phone sequences
need not be equal (the reference holds the phones eSpeak actually said, which can differ from the lexicon's, and
pauses where the aligner may put none), so the non-silence phones of each are matched in order with
``difflib.SequenceMatcher`` (equal labels only), and each matched phone contributes two boundaries, its start and
its end. Reported: mean absolute boundary error and the share within 20 ms (the usual tolerance, e.g. in Montreal
Forced Aligner's evaluations), over matched phones, and the share of reference phones that were matched.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.alignments import AsrAlignment
from crossdistill.data.asr.frames import FRAME_SHIFT_S
from crossdistill.data.asr.phones import PHONES, SILENCE
from crossdistill.data.asr.units.contexts import N_STATES
from crossdistill.train.asr.hybrid_decoding.align_graph import (
    NO_WORD,
    AlignmentGraph,
    build_alignment_graph,
    min_frames,
    transcript_pronunciations,
)
from crossdistill.train.asr.hybrid_decoding.viterbi import NoPathError, viterbi

TOLERANCE_S = 0.020
_DECIMALS = 6  # compare times in whole microseconds (CTM times have 3 decimals)


@dataclass(frozen=True)
class AlignedUtterance:
    """One utterance's alignment, its Viterbi score and whether it needed the one-frame-per-phone fallback."""

    alignment: AsrAlignment
    score: float
    fallback: bool


def align_utterance(
    words: Sequence[str],
    lexicon: Mapping[str, Sequence[str]],
    senone_table: np.ndarray,
    senone_scores: np.ndarray,
    duration: float,
) -> AlignedUtterance:
    """Align ``words`` to ``(T, K)`` frame scores (senone log posteriors, or scaled likelihoods).

    Uses the 3-state topology, or the one-frame-per-phone fallback (``align_graph``) when the utterance has fewer
    frames than the 3-state path needs; raises ``NoPathError`` naming the counts when even that does not fit.
    """
    pronunciations = transcript_pronunciations(words, lexicon)
    frames = len(senone_scores)
    fallback = frames < min_frames(pronunciations)
    if frames < min_frames(pronunciations, skip_states=True):
        raise NoPathError(f"{frames} frames cannot hold the transcript's {min_frames(pronunciations, True)} phones")
    graph = build_alignment_graph(pronunciations, senone_table, skip_states=fallback)
    path, score = viterbi(graph.graph, senone_scores)
    return AlignedUtterance(path_segments(graph, path, words, duration), score, fallback)


def path_segments(graph: AlignmentGraph, path: np.ndarray, words: Sequence[str], duration: float) -> AsrAlignment:
    """The phone and word segments of a Viterbi path (state per frame) through ``graph``."""
    copy_of_frame = np.asarray(path) // N_STATES
    changes = np.flatnonzero(np.diff(copy_of_frame)) + 1
    starts = np.concatenate([[0], changes])
    ends = np.concatenate([changes, [len(copy_of_frame)]])
    phones: list[Segment] = []
    word_spans: dict[int, list[float]] = {}
    for first, stop in zip(starts.tolist(), ends.tolist(), strict=True):
        copy = graph.copies[copy_of_frame[first]]
        start_s = round(first * FRAME_SHIFT_S, _DECIMALS)
        end_s = duration if stop == len(copy_of_frame) else round(stop * FRAME_SHIFT_S, _DECIMALS)
        phones.append(Segment(PHONES[copy.phone], start_s, end_s))
        if copy.word != NO_WORD:
            span = word_spans.setdefault(copy.word, [start_s, end_s])
            span[1] = end_s
    if sorted(word_spans) != list(range(len(words))):
        raise RuntimeError("the alignment path skipped a word (the graph is malformed)")
    word_segments = tuple(Segment(words[k], *word_spans[k]) for k in range(len(words)))
    return AsrAlignment(words=word_segments, phones=tuple(phones))


@dataclass(frozen=True)
class BoundaryErrors:
    """Absolute boundary errors (seconds) of the matched phones, and how many reference phones there were."""

    errors: np.ndarray
    matched_phones: int
    reference_phones: int

    def summary(self) -> dict:
        """Mean absolute error (ms), share within 20 ms, boundaries and share of reference phones matched."""
        errors = self.errors
        return {
            "mean_abs_ms": round(float(errors.mean()) * 1000, 2) if errors.size else None,
            "within_20ms": round(float(np.mean(np.round(errors, _DECIMALS) <= TOLERANCE_S)), 4)
            if errors.size
            else None,
            "boundaries": int(errors.size),
            "matched_phones": self.matched_phones,
            "reference_phones": self.reference_phones,
            "matched_share": round(self.matched_phones / self.reference_phones, 4) if self.reference_phones else None,
        }


def phone_boundary_errors(reference: Sequence[Segment], hypothesis: Sequence[Segment]) -> BoundaryErrors:
    """Boundary errors of ``hypothesis`` against ``reference`` phones of one utterance (module docstring)."""
    ref = [s for s in reference if s.label != SILENCE]
    hyp = [s for s in hypothesis if s.label != SILENCE]
    matcher = difflib.SequenceMatcher(None, [s.label for s in ref], [s.label for s in hyp], autojunk=False)
    errors, matched = [], 0
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            r, h = ref[block.a + offset], hyp[block.b + offset]
            errors += [abs(h.start - r.start), abs(h.end - r.end)]
            matched += 1
    return BoundaryErrors(np.array(errors, dtype=np.float64), matched, len(ref))


def combine_boundary_errors(parts: Sequence[BoundaryErrors]) -> BoundaryErrors:
    """The errors of many utterances pooled (every boundary weighs the same)."""
    errors = np.concatenate([p.errors for p in parts]) if parts else np.zeros(0)
    return BoundaryErrors(errors, sum(p.matched_phones for p in parts), sum(p.reference_phones for p in parts))
