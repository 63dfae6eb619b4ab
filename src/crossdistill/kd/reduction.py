"""Per-sample reduction with an optional padding mask, for (B, C) and frame-wise (B, T, C) outputs."""

from __future__ import annotations

import torch
from torch import Tensor


def reduce_per_sample(values: Tensor, mask: Tensor | None = None) -> Tensor:
    """Average ``values`` over every axis after the first, counting only positions where ``mask`` is True.

    ``values`` has the shape of the logits without the class axis: (B,) or (B, T, ...). ``mask``, if given, has the
    same shape. A sample whose mask is all False contributes 0 (not nan), so fully padded rows are harmless.
    """
    if values.dim() == 1:
        return values if mask is None else values * mask.to(values.dtype)
    flat = values.reshape(values.shape[0], -1)
    if mask is None:
        return flat.mean(dim=1)
    weights = mask.reshape(mask.shape[0], -1).to(values.dtype)
    return (flat * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def masked_mean(values: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean of a per-sample vector over the samples that have at least one real position."""
    if mask is None:
        return values.mean()
    present = mask.reshape(mask.shape[0], -1).any(dim=1).to(values.dtype)
    return (values * present).sum() / present.sum().clamp_min(1.0)


def valid_positions(mask: Tensor | None, reference: Tensor) -> Tensor:
    """A bool tensor of ``reference.shape[:-1]``: the mask, or all True."""
    if mask is None:
        return torch.ones(reference.shape[:-1], dtype=torch.bool, device=reference.device)
    return mask
