"""Automatic weight decisions (paper 000, eq. 7): lambda from the student's errors or the teacher's certainty.

Every registered decision takes a :class:`DecisionInputs` and returns lambda as a (B,) tensor (a batch-wise
decision is broadcast to every sample of the batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from crossdistill.kd.registry import DECISIONS


def recip(x: Tensor | float) -> Tensor | float:
    """recip(x) = 1 / (1 + x): maps an uncertainty in [0, inf) to a weight in (0, 1]."""
    if torch.is_tensor(x):
        if (x < 0).any():
            raise ValueError("recip expects non-negative values (an entropy or a confidence D)")
        return 1.0 / (1.0 + x)
    if x < 0:
        raise ValueError(f"recip expects a non-negative value, got {x}")
    return 1.0 / (1.0 + x)


@dataclass
class DecisionInputs:
    """What a weight decision may look at for one batch.

    student_correct: (B,) bool, whether the student's prediction of each sample is right (for slot-level students,
        right only when every slot is right); needed by ``error_rate``.
    teacher_entropy: (B,) normalized teacher entropy H_C (eq. 3); needed by ``entropy``.
    teacher_confidence: (B,) dropout confidence D (eq. 4); needed by ``dropout``.
    """

    batch_size: int
    student_correct: Tensor | None = None
    teacher_entropy: Tensor | None = None
    teacher_confidence: Tensor | None = None


def _require(value: Tensor | None, field: str, decision: str) -> Tensor:
    if value is None:
        raise ValueError(f"weight decision {decision!r} needs {field}, which was not provided")
    return value.detach()


@DECISIONS.register("error_rate")
def error_rate_decision(inputs: DecisionInputs) -> Tensor:
    """lambda = err_batch = 1 - acc_batch (eq. 7a), one value for the whole batch."""
    correct = _require(inputs.student_correct, "student_correct", "error_rate")
    error = 1.0 - correct.float().mean()
    return error.expand(inputs.batch_size)


@DECISIONS.register("entropy")
def entropy_decision(inputs: DecisionInputs) -> Tensor:
    """lambda = recip(H_C(T_sample)) (eq. 7b), per sample."""
    return recip(_require(inputs.teacher_entropy, "teacher_entropy", "entropy").float())


@DECISIONS.register("dropout")
def dropout_decision(inputs: DecisionInputs) -> Tensor:
    """lambda = recip(D_p(T_sample)) (eq. 7c, the paper's proposal), per sample."""
    return recip(_require(inputs.teacher_confidence, "teacher_confidence", "dropout").float())
