"""The distillation core: pure PyTorch, tensors in and tensors out, no audio, files or Lightning.

Paper 000's formulas are plain functions (:func:`normalized_entropy`, :func:`dropout_confidence`, :func:`recip`,
:func:`exp_decay`, :func:`triangular`); distances, schedules, decisions, combinations and objectives are also found
by name in registries so that a YAML config can name them.
"""

from crossdistill.kd.combine import additive, combine_losses, weighted_sum
from crossdistill.kd.confidence import (
    DEFAULT_DROPOUT_SITE,
    DEFAULT_N_MASKS,
    DEFAULT_P,
    DROPOUT_SITES,
    T_ONLY_SITES,
    dropout_confidence,
    dropout_confidence_from_features,
    dropout_confidence_from_masks,
    sample_dropout_masks,
)
from crossdistill.kd.decisions import DecisionInputs, recip
from crossdistill.kd.distances import (
    PROBABILITY_TEACHER_DISTANCES,
    compute_distance,
    kl_distance,
    kl_from_probabilities_distance,
    l1_distance,
    mse_distance,
    soft_cross_entropy_distance,
)
from crossdistill.kd.entropy import entropy, normalized_entropy, normalized_entropy_from_logits
from crossdistill.kd.objectives import (
    OBJECTIVES,
    DistillationObjective,
    DistillationTerm,
    LabelInterpolationObjective,
    LossBreakdown,
    StepContext,
    build_objective,
    lst_loss,
    lst_target,
    supervised_cross_entropy,
)
from crossdistill.kd.policy import WeightPolicy
from crossdistill.kd.registry import COMBINATIONS, DECISIONS, DISTANCES, SCHEDULES, Registry
from crossdistill.kd.schedules import exp_decay, linear_ramp, triangular

__all__ = [
    "COMBINATIONS",
    "DECISIONS",
    "DEFAULT_DROPOUT_SITE",
    "DEFAULT_N_MASKS",
    "DEFAULT_P",
    "DISTANCES",
    "DROPOUT_SITES",
    "OBJECTIVES",
    "PROBABILITY_TEACHER_DISTANCES",
    "SCHEDULES",
    "T_ONLY_SITES",
    "DecisionInputs",
    "DistillationObjective",
    "DistillationTerm",
    "LabelInterpolationObjective",
    "LossBreakdown",
    "Registry",
    "StepContext",
    "WeightPolicy",
    "additive",
    "build_objective",
    "combine_losses",
    "compute_distance",
    "dropout_confidence",
    "dropout_confidence_from_features",
    "dropout_confidence_from_masks",
    "entropy",
    "exp_decay",
    "kl_distance",
    "kl_from_probabilities_distance",
    "l1_distance",
    "linear_ramp",
    "lst_loss",
    "lst_target",
    "mse_distance",
    "normalized_entropy",
    "normalized_entropy_from_logits",
    "recip",
    "sample_dropout_masks",
    "soft_cross_entropy_distance",
    "supervised_cross_entropy",
    "triangular",
    "weighted_sum",
]
