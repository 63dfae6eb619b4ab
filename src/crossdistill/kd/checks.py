"""Input validation shared by the distillation core: every error names the offending argument."""

from __future__ import annotations

import torch
from torch import Tensor


def check_logits(name: str, logits: Tensor) -> None:
    """Logits must be floating point, have a class axis of at least 2 and be finite."""
    if not torch.is_tensor(logits):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise ValueError(f"{name} must be floating point, got dtype {logits.dtype}")
    if logits.dim() < 1 or logits.shape[-1] < 2:
        raise ValueError(f"{name} needs at least 2 classes on its last axis, got shape {tuple(logits.shape)}")
    if not torch.isfinite(logits).all():
        raise ValueError(f"{name} contains non-finite values (nan or inf)")


def check_probabilities(name: str, probs: Tensor, atol: float = 1e-4) -> None:
    """Probabilities must be finite, non-negative and sum to one over the last axis."""
    check_logits(name, probs)
    if (probs < 0).any():
        raise ValueError(f"{name} has negative entries: it must hold probabilities")
    sums = probs.sum(dim=-1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=atol):
        raise ValueError(f"{name} must sum to 1 over its last axis (max deviation {(sums - 1).abs().max():.3g})")


def check_same_shape(student: Tensor, teacher: Tensor, student_name: str = "student", teacher_name: str = "teacher"):
    if student.shape != teacher.shape:
        raise ValueError(
            f"{student_name} and {teacher_name} shapes differ: {tuple(student.shape)} vs {tuple(teacher.shape)}"
        )


def check_mask(mask: Tensor | None, logits: Tensor, name: str = "mask") -> None:
    """A padding mask covers every axis but the class axis: (B,) for (B, C), (B, T) for (B, T, C)."""
    if mask is None:
        return
    expected = tuple(logits.shape[:-1])
    if tuple(mask.shape) != expected:
        raise ValueError(
            f"{name} must have shape {expected} to match logits {tuple(logits.shape)}, got {tuple(mask.shape)}"
        )
    if mask.dtype != torch.bool:
        raise ValueError(f"{name} must be a bool tensor (True = real frame), got dtype {mask.dtype}")


def check_probability_rate(name: str, p: float) -> None:
    if not 0.0 <= float(p) < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {p}")


def check_positive_int(name: str, value: int) -> None:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value}")
