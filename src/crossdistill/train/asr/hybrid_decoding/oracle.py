"""An oracle AM, to check the decoder and the aligner apart from any trained model.

Its senone posteriors put ``peak`` of each frame's probability on the senone of the reference frame labels (a
units folder's ``frames/<split>.npz``) and spread the rest evenly; its priors are those a hybrid run stores
(``crossdistill.train.asr.hybrid.senone_priors`` of the training split's frame labels). Decoding its scores tests
the senone -> phone-state map, the lexicon spellings, the LM and the beam; aligning them tests the alignment
graph. Used by the tests and by ``scripts/measure_hybrid_decoding.py`` (docs/asr.md); not a model result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from crossdistill.data.asr.units import Units, load_units
from crossdistill.data.asr.units.tree import SenoneTree
from crossdistill.train.asr.hybrid import senone_priors
from crossdistill.train.asr.hybrid_decoding.tokens import TokenMap


@dataclass(frozen=True)
class OracleAM:
    """units: the units folder; tree: its senone tree; log_priors: (K,); token_map: senones -> decoder tokens."""

    units: Units
    tree: SenoneTree
    log_priors: np.ndarray
    token_map: TokenMap
    peak: float = 0.9

    @property
    def senones(self) -> int:
        return self.units.size("senone")

    def log_posteriors(self, split: str, utt_id: str) -> np.ndarray:
        """``(T, K)`` oracle log posteriors of one utterance."""
        return oracle_log_posteriors(self.units.labels(split, utt_id)["senone"], self.senones, self.peak)


def open_oracle(units: str | os.PathLike, peak: float = 0.9, train_split: str = "train") -> OracleAM:
    """The oracle AM of a units folder (priors from ``train_split``'s frame labels)."""
    folder = load_units(units)
    tree = folder.senone_tree()
    counts = np.bincount(folder.frames(train_split).labels["senone"], minlength=folder.size("senone"))
    log_priors = np.log(senone_priors(counts))
    return OracleAM(folder, tree, log_priors, TokenMap.from_tree(tree, log_priors), peak)


def oracle_log_posteriors(labels: np.ndarray, senones: int, peak: float = 0.9) -> np.ndarray:
    """``peak`` on each frame's senone in ``labels``, the rest spread evenly over the other senones."""
    if not 0.0 < peak < 1.0:
        raise ValueError(f"peak must lie in (0, 1), got {peak}")
    scores = np.full((len(labels), senones), np.log((1 - peak) / (senones - 1)))
    scores[np.arange(len(labels)), labels] = np.log(peak)
    return scores
