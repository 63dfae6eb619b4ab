"""CTC prefix scores for joint CTC/attention decoding (Watanabe et al., 2017, "Hybrid CTC/attention architecture for
end-to-end speech recognition", Algorithm 2; ESPnet's ``CTCPrefixScore``).

For an output prefix h, the CTC prefix probability psi(h) is the total probability of every CTC path over the
utterance's frames whose collapsed labelling *starts with* h; for a prefix ended by ``</s>`` it is the probability of
the labelling being exactly h. The forward variables r_t^n(h) and r_t^b(h) (paths over frames 1..t that collapse to
h and end in a non-blank or in a blank) extend from a prefix to each candidate next token in one pass over the
frames, so a beam search scores its pre-selected candidates at O(T) per step and hypothesis; ``extend_many`` does so
for every hypothesis of a batch in one pass over the frames (vectorized over hypotheses and candidates).

The beam search adds ``ctc_weight * (log psi(h + c) - log psi(h))`` to a hypothesis' score when it extends h by c,
so that a finished hypothesis carries ``ctc_weight * log P_ctc(y)`` in total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LOG_ZERO = -1e30  # log 0 that stays finite under additions


@dataclass(frozen=True)
class PrefixState:
    """The forward variables of one prefix: ``r`` (T, 2) log r_t^n, log r_t^b; ``score``: log psi(prefix)."""

    r: np.ndarray
    score: float


class CTCPrefixScorer:
    """Prefix scores of a batch of utterances from their CTC log-probabilities ``log_probs`` (B, T, V), padded after
    each utterance's ``frames`` (B,) real frames (one utterance: a (T, V) array and no ``frames``).

    ``extend`` advances any number of prefixes of any of the utterances at once: the recursion over frames runs once
    per call, over every (prefix, candidate) pair, not once per prefix. A prefix's state covers the padded frames
    too; what lies past its utterance's end never reaches a score.
    """

    def __init__(self, log_probs: np.ndarray, blank: int, eos: int, frames: Sequence[int] | None = None) -> None:
        x = np.asarray(log_probs, dtype=np.float64)
        if x.ndim == 2:
            x = x[None]
            frames = [x.shape[1]] if frames is None else frames
        if x.ndim != 3 or x.shape[1] < 1 or frames is None or len(frames) != x.shape[0]:
            raise ValueError(f"log_probs must be (T >= 1, V) or (B, T >= 1, V) with B frame counts, got shape "
                             f"{np.shape(log_probs)} and frames {frames}")  # fmt: skip
        self.frames = np.asarray(frames, dtype=np.int64)
        if self.frames.min() < 1 or self.frames.max() > x.shape[1]:
            raise ValueError(f"frames must lie in [1, {x.shape[1]}], got {self.frames.tolist()}")
        padding = np.arange(x.shape[1])[None, :] >= self.frames[:, None]
        self.x = np.where(padding[:, :, None], LOG_ZERO, x)
        self.blank, self.eos = blank, eos

    def initial(self, utterance: int = 0) -> PrefixState:
        """The empty prefix (only ``<s>``): every path of blanks so far, r^n = 0; psi = 1."""
        r = np.full((self.x.shape[1], 2), LOG_ZERO)
        r[:, 1] = np.cumsum(self.x[utterance, :, self.blank])
        return PrefixState(r, 0.0)

    def extend(self, prefix: tuple[int, ...], state: PrefixState, candidates: np.ndarray) -> list[PrefixState]:
        """The states of ``prefix + (c,)`` for every candidate token ``c`` (``prefix`` without ``<s>``) of the one
        utterance; ``</s>`` as a candidate gets the probability of exactly ``prefix``: log(r_T^n + r_T^b)."""
        candidates = np.asarray(candidates, dtype=np.int64)[None]
        last = prefix[-1] if prefix else -1
        r, psi = self.extend_many([0], [last], [state], candidates, np.ones(candidates.shape, dtype=bool))
        return [PrefixState(r[0, :, :, k], float(psi[0, k])) for k in range(candidates.shape[1])]

    def extend_many(
        self,
        utterances: Sequence[int],
        lasts: Sequence[int],
        states: Sequence[PrefixState],
        candidates: np.ndarray,
        valid: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Extend H prefixes at once: prefix h belongs to ``utterances[h]``, ends in token ``lasts[h]`` (-1: empty)
        and has ``states[h]``; ``candidates`` (H, K) are its next tokens where ``valid`` (H, K). Returns the new
        forward variables r (H, T, 2, K) and log psi (H, K) (``LOG_ZERO`` where not valid)."""
        utterances = np.asarray(utterances, dtype=np.int64)
        lasts = np.asarray(lasts, dtype=np.int64)
        frames = self.frames[utterances]  # (H,)
        # Only the candidates' and the blank's columns are gathered, not each hypothesis' whole (T, V) block.
        xs = self.x[utterances[:, None], :, candidates].transpose(0, 2, 1)  # (H, T, K)
        blank = self.x[utterances, :, self.blank]  # (H, T)
        r_prev = np.stack([state.r for state in states])  # (H, T, 2)
        r_sum = np.logaddexp(r_prev[:, :, 0], r_prev[:, :, 1])  # (H, T) paths of the prefix, ending in anything
        # phi_t: the prefix's paths after which c starts a new label; a repeat of the last label needs a blank first.
        repeat = candidates == lasts[:, None]  # (H, K)
        phi = np.where(repeat[:, None, :], r_prev[:, :, 1:2], r_sum[:, :, None])  # (H, T, K)
        r = np.full((len(states), self.x.shape[1], 2, candidates.shape[1]), LOG_ZERO)
        empty = lasts < 0
        r[empty, 0, 0] = xs[empty, 0]
        psi = r[:, 0, 0].copy()
        for t in range(1, self.x.shape[1]):
            r[:, t, 0] = np.logaddexp(r[:, t - 1, 0], phi[:, t - 1]) + xs[:, t]
            r[:, t, 1] = np.logaddexp(r[:, t - 1, 0], r[:, t - 1, 1]) + blank[:, t, None]
            psi = np.where((t < frames)[:, None], np.logaddexp(psi, phi[:, t - 1] + xs[:, t]), psi)
        ended = r_sum[np.arange(len(states)), frames - 1]  # (H,)
        psi = np.where(candidates == self.eos, ended[:, None], psi)
        return r, np.where(valid, psi, LOG_ZERO)
