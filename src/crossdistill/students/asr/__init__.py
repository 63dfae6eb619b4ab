"""Paper 001's acoustic models: the hybrid CNN + transformer AM with a senone head and auxiliary KD heads
(``hybrid``), and SpecAugment for their training (``specaugment``)."""

from crossdistill.students.asr.hybrid import (
    AUX_PREFIX,
    SENONE_HEAD,
    HybridAcousticModel,
    HybridModelConfig,
    aux_head,
)
from crossdistill.students.asr.specaugment import BatchSpecAugment, SpecAugmentConfig

__all__ = [
    "AUX_PREFIX",
    "SENONE_HEAD",
    "BatchSpecAugment",
    "HybridAcousticModel",
    "HybridModelConfig",
    "SpecAugmentConfig",
    "aux_head",
]
