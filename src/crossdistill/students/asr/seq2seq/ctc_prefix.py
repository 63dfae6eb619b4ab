"""CTC prefix scores for joint CTC/attention decoding (Watanabe et al., 2017, "Hybrid CTC/attention architecture for
end-to-end speech recognition", Algorithm 2; ESPnet's ``CTCPrefixScore``).

For an output prefix h, the CTC prefix probability psi(h) is the total probability of every CTC path over the
utterance's frames whose collapsed labelling *starts with* h; for a prefix ended by ``</s>`` it is the probability of
the labelling being exactly h. The forward variables r_t^n(h) and r_t^b(h) (paths over frames 1..t that collapse to
h and end in a non-blank or in a blank) extend from a prefix to each candidate next token in one pass over the
frames, so a beam search scores its pre-selected candidates at O(T) per step and hypothesis.

The beam search adds ``ctc_weight * (log psi(h + c) - log psi(h))`` to a hypothesis' score when it extends h by c,
so that a finished hypothesis carries ``ctc_weight * log P_ctc(y)`` in total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_ZERO = -1e30  # log 0 that stays finite under additions


@dataclass(frozen=True)
class PrefixState:
    """The forward variables of one prefix: ``r`` (T, 2) log r_t^n, log r_t^b; ``score``: log psi(prefix)."""

    r: np.ndarray
    score: float


class CTCPrefixScorer:
    """Prefix scores of one utterance from its CTC log-probabilities ``log_probs`` (T, V) over real frames."""

    def __init__(self, log_probs: np.ndarray, blank: int, eos: int) -> None:
        if log_probs.ndim != 2 or log_probs.shape[0] < 1:
            raise ValueError(f"log_probs must be (T >= 1, V), got shape {log_probs.shape}")
        self.x = np.asarray(log_probs, dtype=np.float64)
        self.blank, self.eos = blank, eos

    @property
    def frames(self) -> int:
        return self.x.shape[0]

    def initial(self) -> PrefixState:
        """The empty prefix (only ``<s>``): every path of blanks so far, r^n = 0; psi = 1."""
        r = np.full((self.frames, 2), LOG_ZERO)
        r[:, 1] = np.cumsum(self.x[:, self.blank])
        return PrefixState(r, 0.0)

    def extend(self, prefix: tuple[int, ...], state: PrefixState, candidates: np.ndarray) -> list[PrefixState]:
        """The states of ``prefix + (c,)`` for every candidate token ``c`` (``prefix`` without ``<s>``).

        ``</s>`` as a candidate gets the probability of exactly ``prefix``: log(r_T^n + r_T^b).
        """
        x, frames = self.x, self.frames
        candidates = np.asarray(candidates, dtype=np.int64)
        xs = x[:, candidates]  # (T, K)
        r_sum = np.logaddexp(state.r[:, 0], state.r[:, 1])  # (T,) paths of the prefix, ending in anything
        # phi_t: the prefix's paths after which c starts a new label; a repeat of the last label needs a blank first.
        phi = np.repeat(r_sum[:, None], len(candidates), axis=1)
        if prefix:
            phi[:, candidates == prefix[-1]] = state.r[:, 1:2]
        r = np.full((frames, 2, len(candidates)), LOG_ZERO)
        if not prefix:
            r[0, 0] = xs[0]
        psi = r[0, 0].copy()
        for t in range(1, frames):
            r[t, 0] = np.logaddexp(r[t - 1, 0], phi[t - 1]) + xs[t]
            r[t, 1] = np.logaddexp(r[t - 1, 0], r[t - 1, 1]) + x[t, self.blank]
            psi = np.logaddexp(psi, phi[t - 1] + xs[t])
        psi[candidates == self.eos] = r_sum[-1]
        return [PrefixState(r[:, :, k], float(psi[k])) for k in range(len(candidates))]
