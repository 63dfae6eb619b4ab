"""Combining the supervised loss with distillation terms (paper 000, eq. 1)."""

from __future__ import annotations

from torch import Tensor

from crossdistill.kd.registry import COMBINATIONS


@COMBINATIONS.register("weighted")
def weighted_sum(orig: Tensor, kd_terms: list[Tensor], lambdas: list[Tensor]) -> Tensor:
    """(1 - lambda) * L_orig + lambda * L_kd (eq. 1a), per sample; the paper's format for every row of Table I.

    With several terms the supervised weight is 1 - sum_k lambda_k, which must stay in [0, 1].
    """
    total_lambda = sum(lambdas) if lambdas else orig.new_zeros(())
    if lambdas and ((total_lambda > 1 + 1e-6).any() or (total_lambda < 0).any()):
        raise ValueError(
            "the weighted combination (1a) needs the lambdas to sum to a value in [0, 1]; "
            f"got up to {float(total_lambda.max()):.3f}. Use combination 'additive' (1b) for several terms."
        )
    loss = (1 - total_lambda) * orig
    for term, lam in zip(kd_terms, lambdas, strict=True):
        loss = loss + lam * term
    return loss


@COMBINATIONS.register("additive")
def additive(orig: Tensor, kd_terms: list[Tensor], lambdas: list[Tensor]) -> Tensor:
    """L_orig + lambda * L_kd (eq. 1b), per sample; paper 001's multi-task objective is of this form."""
    loss = orig
    for term, lam in zip(kd_terms, lambdas, strict=True):
        loss = loss + lam * term
    return loss


def combine_losses(orig: Tensor, kd: Tensor, lam: Tensor | float, combination: str = "weighted") -> Tensor:
    """Batch-mean of one supervised and one KD per-sample loss, combined by name ('weighted' or 'additive')."""
    lam_tensor = orig.new_tensor(lam) if not isinstance(lam, Tensor) else lam.to(orig)
    if lam_tensor.dim() not in (0, 1) or (lam_tensor.dim() == 1 and lam_tensor.shape != orig.shape):
        raise ValueError(f"lam must be a scalar or have shape {tuple(orig.shape)}, got {tuple(lam_tensor.shape)}")
    if orig.shape != kd.shape:
        raise ValueError(f"orig and kd per-sample losses differ in shape: {tuple(orig.shape)} vs {tuple(kd.shape)}")
    return COMBINATIONS.get(combination)(orig, [kd], [lam_tensor]).mean()
