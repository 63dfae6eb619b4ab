"""Corpus augmentation, as Kaldi recipes do it for data dirs: a finished corpus in, a new corpus in the same layout out,
whose training split also holds speed-perturbed copies (``sp0.9-`` speakers) with optional additive noise and
simulated room reverberation; valid/dev and test are taken over unchanged. See docs/data.md, "Augmentation".

Modules: ``options`` (what to make), ``signal`` (speed, reverberation, noise), ``timing`` (alignments of a copy),
``copies`` (one copy, planned and made), ``fsc`` and ``librispeech`` (the two layouts), ``run`` (``augment_corpus``).
"""

from crossdistill.data.augment.options import AugmentOptions, parse_snr_range, parse_speeds
from crossdistill.data.augment.run import augment_corpus

__all__ = ["AugmentOptions", "augment_corpus", "parse_snr_range", "parse_speeds"]
