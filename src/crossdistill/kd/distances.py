"""Distances between student and teacher outputs, reduced per sample.

Every distance takes ``student`` and ``teacher`` of identical shape (B, C) or (B, T, C) and an optional bool
``mask`` over the non-class axes, and returns a (B,) tensor. The teacher is detached: it is a frozen source of
targets, so no gradient ever reaches it. The teacher holds logits, except for the distances named in
``PROBABILITY_TEACHER_DISTANCES``, which read cached probabilities.
"""

from __future__ import annotations

import torch
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


@DISTANCES.register("kl_probs")
def kl_from_probabilities_distance(
    student: Tensor, teacher: Tensor, mask: Tensor | None = None, temperature: float = 1.0
) -> Tensor:
    """``kl`` with the teacher given as probabilities p rather than logits: KL(p_T || softmax(student / T)) * T^2.

    p_T = p^(1/T) / sum(p^(1/T)) = softmax(log p / T), so on rows without zeros this is exactly ``kl`` with teacher
    logits log p (a logit and its log-probability differ by a per-row constant, which softmax ignores). It exists
    for cached teacher distributions such as paper 001's frame-wise LM posteriors, whose top-k rows hold exact
    zeros that have no logit: a zero stays zero at any temperature and adds nothing (0 log 0 = 0). Rows must be
    non-negative and sum to 1 on real positions; padded rows (mask False) may hold anything finite.
    """
    _check_temperature(temperature)
    check_logits("student", student)
    check_same_shape(student, teacher)
    check_mask(mask, student)
    teacher = _check_teacher_probabilities(teacher.detach(), mask)
    support = teacher > 0
    if temperature != 1.0:
        tempered = torch.where(support, teacher.log() / temperature, float("-inf"))
        teacher = torch.softmax(tempered, dim=-1)
    log_p_student = F.log_softmax(student / temperature, dim=-1)
    # where(), not a product: 0 * log 0 would be nan, and the student's log-probability must not be read off-support.
    log_ratio = torch.where(support, teacher.clamp_min(torch.finfo(teacher.dtype).tiny).log() - log_p_student, 0.0)
    kl = (teacher * log_ratio).sum(dim=-1)
    return reduce_per_sample(kl, mask) * temperature**2


# Distances whose ``teacher`` argument holds probabilities rather than logits.
PROBABILITY_TEACHER_DISTANCES = frozenset({"kl_probs"})


def _check_teacher_probabilities(teacher: Tensor, mask: Tensor | None, atol: float = 1e-3) -> Tensor:
    """Non-negative rows summing to 1 on real positions; padded rows are replaced by a uniform row (never read)."""
    if not teacher.is_floating_point() or not torch.isfinite(teacher).all():
        raise ValueError("teacher probabilities must be finite floating-point values")
    if (teacher < 0).any():
        raise ValueError("teacher probabilities must be non-negative")
    real = torch.ones(teacher.shape[:-1], dtype=torch.bool, device=teacher.device) if mask is None else mask
    sums = teacher.sum(dim=-1)
    if real.any() and ((sums - 1).abs()[real].max() > atol):
        raise ValueError(
            f"teacher probabilities must sum to 1 over the last axis (max deviation {(sums - 1).abs()[real].max():.3g})"
        )
    if mask is None:
        return teacher
    return torch.where(real.unsqueeze(-1), teacher, torch.full_like(teacher, 1.0 / teacher.shape[-1]))


def _check_temperature(temperature: float) -> None:
    if not float(temperature) > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")


def compute_distance(
    name: str, student: Tensor, teacher: Tensor, mask: Tensor | None = None, temperature: float = 1.0
) -> Tensor:
    """Look a distance up by name and apply it."""
    return DISTANCES.get(name)(student, teacher, mask=mask, temperature=temperature)
