"""Distances between student and teacher outputs, reduced per sample.

Every distance takes ``student`` and ``teacher`` of identical shape (B, C) or (B, T, C) and an optional bool
``mask`` over the non-class axes, and returns a (B,) tensor. The teacher is detached: it is a frozen source of
targets, so no gradient ever reaches it.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from crossdistill.kd.checks import check_logits, check_mask, check_same_shape
from crossdistill.kd.reduction import reduce_per_sample
from crossdistill.kd.registry import DISTANCES


def _prepare(student: Tensor, teacher: Tensor, mask: Tensor | None) -> Tensor:
    check_logits("student", student)
    check_logits("teacher", teacher)
    check_same_shape(student, teacher)
    check_mask(mask, student)
    return teacher.detach()


@DISTANCES.register("l1")
def l1_distance(student: Tensor, teacher: Tensor, mask: Tensor | None = None, temperature: float = 1.0) -> Tensor:
    """Mean absolute error between logits (paper 000, eq. 5, its default). ``temperature`` is ignored."""
    teacher = _prepare(student, teacher, mask)
    return reduce_per_sample((student - teacher).abs().mean(dim=-1), mask)


@DISTANCES.register("mse")
def mse_distance(student: Tensor, teacher: Tensor, mask: Tensor | None = None, temperature: float = 1.0) -> Tensor:
    """Mean squared error between logits. ``temperature`` is ignored."""
    teacher = _prepare(student, teacher, mask)
    return reduce_per_sample((student - teacher).pow(2).mean(dim=-1), mask)


@DISTANCES.register("kl")
def kl_distance(student: Tensor, teacher: Tensor, mask: Tensor | None = None, temperature: float = 1.0) -> Tensor:
    """KL(softmax(teacher / T) || softmax(student / T)) * T^2 (Hinton et al.; T^2 keeps gradient scale)."""
    _check_temperature(temperature)
    teacher = _prepare(student, teacher, mask)
    log_p_teacher = F.log_softmax(teacher / temperature, dim=-1)
    log_p_student = F.log_softmax(student / temperature, dim=-1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=-1)
    return reduce_per_sample(kl, mask) * temperature**2


@DISTANCES.register("soft_ce")
def soft_cross_entropy_distance(
    student: Tensor, teacher: Tensor, mask: Tensor | None = None, temperature: float = 1.0
) -> Tensor:
    """Cross-entropy of the student against the teacher's soft labels at temperature T, times T^2.

    Differs from ``kl`` only by the teacher entropy, a constant for the student: same gradients.
    """
    _check_temperature(temperature)
    teacher = _prepare(student, teacher, mask)
    p_teacher = F.softmax(teacher / temperature, dim=-1)
    ce = -(p_teacher * F.log_softmax(student / temperature, dim=-1)).sum(dim=-1)
    return reduce_per_sample(ce, mask) * temperature**2


def _check_temperature(temperature: float) -> None:
    if not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")


def compute_distance(
    name: str, student: Tensor, teacher: Tensor, mask: Tensor | None = None, temperature: float = 1.0
) -> Tensor:
    """Look a distance up by name and apply it."""
    return DISTANCES.get(name)(student, teacher, mask=mask, temperature=temperature)
