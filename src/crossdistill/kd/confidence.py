"""Dropout-based teacher confidence D (paper 000, eq. 4).

D_{C,Q,p}(T) = (1/N) * sum_n KL(T || q_n(T)): how far the teacher's distribution T moves when N independent
dropout layers q_n of rate p perturb it. A small D means a robust, confident teacher.

Where the dropout acts is an interpretation the paper leaves open ("a dropout augmented to the teacher model's
output layer"). The default perturbs the teacher's logits with standard inverted dropout before the softmax:
q_n(T) = softmax(dropout_p(z)). It needs nothing but the cached logits, so D can be computed for any teacher,
including one we only have outputs of. The alternative, :func:`dropout_confidence_from_features`, drops the hidden
features that feed the output layer and re-applies that layer: q_n(T) = softmax(head(dropout_p(h))).

Both are computed for the whole batch and all N masks in one vectorized pass (chunked over masks only when the
tensor would exceed ``max_elements``), and are reproducible given a seed or ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from crossdistill.kd.checks import check_logits, check_positive_int, check_probability_rate

DEFAULT_N_MASKS = 100  # paper 000: "we fixed N to 100"
DEFAULT_P = 0.1  # paper 000: "and p to 0.1"
_MAX_ELEMENTS = 1 << 25  # ~128 MiB of float32 per chunk of perturbed copies


def sample_dropout_masks(
    shape: tuple[int, ...],
    n_masks: int,
    p: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """N independent inverted-dropout masks of ``shape``: entries 0 with probability p, else 1 / (1 - p)."""
    check_positive_int("n_masks", n_masks)
    check_probability_rate("p", p)
    draw_device = generator.device if generator is not None else device
    uniform = torch.rand((n_masks, *shape), generator=generator, device=draw_device)
    keep = (uniform >= p).to(dtype) / (1.0 - p)
    return keep.to(device) if device is not None else keep


def kl_to_perturbed(log_p: Tensor, perturbed_logits: Tensor) -> Tensor:
    """KL(T || q) summed over classes, for T given by ``log_p`` (..., C) and q = softmax(perturbed) (N, ..., C)."""
    log_q = F.log_softmax(perturbed_logits, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(dim=-1)


def dropout_confidence_from_masks(logits: Tensor, masks: Tensor) -> Tensor:
    """D for given masks (N, ..., C) applied to ``logits`` (..., C); returns (...)."""
    check_logits("logits", logits)
    if masks.shape[1:] != logits.shape:
        raise ValueError(f"masks must have shape (N, *{tuple(logits.shape)}), got {tuple(masks.shape)}")
    logits = logits.detach()
    log_p = F.log_softmax(logits, dim=-1)
    return kl_to_perturbed(log_p, logits.unsqueeze(0) * masks).mean(dim=0)


def dropout_confidence(
    logits: Tensor,
    n_masks: int = DEFAULT_N_MASKS,
    p: float = DEFAULT_P,
    generator: torch.Generator | None = None,
    *,
    features: Tensor | None = None,
    head: Callable[[Tensor], Tensor] | None = None,
    max_elements: int = _MAX_ELEMENTS,
) -> Tensor:
    """Dropout-based confidence D of each teacher distribution: logits (..., C) -> D (...).

    With ``head`` and ``features`` given, the dropout perturbs the hidden features feeding the teacher's output
    layer instead of the logits (see :func:`dropout_confidence_from_features`).
    """
    if head is not None or features is not None:
        if head is None or features is None:
            raise ValueError("feature dropout needs both features and head")
        return dropout_confidence_from_features(features, head, n_masks, p, generator, max_elements=max_elements)
    check_logits("logits", logits)
    check_positive_int("n_masks", n_masks)
    check_probability_rate("p", p)
    logits = logits.detach()
    log_p = F.log_softmax(logits, dim=-1)
    total = torch.zeros(logits.shape[:-1], dtype=log_p.dtype, device=logits.device)
    for count in _chunks(n_masks, logits.numel(), max_elements):
        masks = sample_dropout_masks(tuple(logits.shape), count, p, generator, logits.device, logits.dtype)
        total += kl_to_perturbed(log_p, logits.unsqueeze(0) * masks).sum(dim=0)
    return total / n_masks


@torch.no_grad()
def dropout_confidence_from_features(
    features: Tensor,
    head: Callable[[Tensor], Tensor],
    n_masks: int = DEFAULT_N_MASKS,
    p: float = DEFAULT_P,
    generator: torch.Generator | None = None,
    *,
    max_elements: int = _MAX_ELEMENTS,
) -> Tensor:
    """D with dropout on the hidden features h (..., H) that the output layer ``head`` maps to logits."""
    check_positive_int("n_masks", n_masks)
    check_probability_rate("p", p)
    if not torch.isfinite(features).all():
        raise ValueError("features contains non-finite values (nan or inf)")
    logits = head(features)
    check_logits("head(features)", logits)
    log_p = F.log_softmax(logits, dim=-1)
    total = torch.zeros(logits.shape[:-1], dtype=log_p.dtype, device=logits.device)
    per_mask = max(features.numel(), logits.numel())
    for count in _chunks(n_masks, per_mask, max_elements):
        masks = sample_dropout_masks(tuple(features.shape), count, p, generator, features.device, features.dtype)
        total += kl_to_perturbed(log_p, head(features.unsqueeze(0) * masks)).sum(dim=0)
    return total / n_masks


def _chunks(n_masks: int, elements_per_mask: int, max_elements: int) -> list[int]:
    """Split N masks into chunks whose perturbed copies stay under ``max_elements`` (one chunk when small)."""
    per_chunk = max(1, max_elements // max(1, elements_per_mask))
    return [min(per_chunk, n_masks - start) for start in range(0, n_masks, per_chunk)]
