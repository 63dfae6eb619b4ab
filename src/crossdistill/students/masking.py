"""Length-aware tensor helpers: padding never leaks into the frames of a shorter utterance.

Every student layer that mixes neighbouring frames (convolution, pooling, recurrent layers, max over time)
goes through these helpers, so an utterance gives the same outputs alone or padded inside a batch.
Tensors are time-major along dimension 1: ``(B, T, C)``.
"""

from __future__ import annotations

import torch
from torch import Tensor


def make_pad_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """Return a bool mask ``(B, T)`` that is True on valid frames (``t < lengths[b]``)."""
    max_len = int(lengths.max()) if max_len is None else max_len
    steps = torch.arange(max_len, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)


def zero_padding(x: Tensor, lengths: Tensor) -> Tensor:
    """Return ``x`` ``(B, T, C)`` with frames at or past each length set to zero."""
    mask = make_pad_mask(lengths, x.shape[1])
    return x * mask.unsqueeze(-1).to(x.dtype)


def pool_lengths(lengths: Tensor, factor: int) -> Tensor:
    """Return the lengths after pooling by ``factor`` with ``ceil_mode`` (a partial last window counts)."""
    return torch.div(lengths + factor - 1, factor, rounding_mode="floor")


def masked_avg_pool(x: Tensor, lengths: Tensor, factor: int) -> tuple[Tensor, Tensor]:
    """Average ``x`` ``(B, T, C)`` over windows of ``factor`` frames, ignoring padded frames.

    A partial last window is averaged over its valid frames only (as an unpadded utterance would be), so
    the result does not depend on how much padding a batch adds. Returns ``(pooled, new_lengths)``.
    """
    if factor == 1:
        return x, lengths
    mask = make_pad_mask(lengths, x.shape[1]).unsqueeze(1).to(x.dtype)  # (B, 1, T)
    summed = torch.nn.functional.avg_pool1d(x.transpose(1, 2) * mask, factor, ceil_mode=True) * factor
    counts = torch.nn.functional.avg_pool1d(mask, factor, ceil_mode=True) * factor
    pooled = (summed / counts.clamp_min(1.0)).transpose(1, 2)
    return pooled, pool_lengths(lengths, factor)


def masked_max_pool(x: Tensor, lengths: Tensor, factor: int) -> tuple[Tensor, Tensor]:
    """Max-pool ``x`` ``(B, T, C)`` over windows of ``factor`` frames, ignoring padded frames.

    Returns ``(pooled, new_lengths)``; frames past the new lengths are zero.
    """
    if factor == 1:
        return zero_padding(x, lengths), lengths
    mask = make_pad_mask(lengths, x.shape[1]).unsqueeze(-1)
    filled = x.masked_fill(~mask, float("-inf"))
    pooled = torch.nn.functional.max_pool1d(filled.transpose(1, 2), factor, ceil_mode=True).transpose(1, 2)
    new_lengths = pool_lengths(lengths, factor)
    valid = make_pad_mask(new_lengths, pooled.shape[1]).unsqueeze(-1)
    return pooled.masked_fill(~valid, 0.0), new_lengths


def masked_max_over_time(x: Tensor, lengths: Tensor) -> Tensor:
    """Return the maximum of ``x`` ``(B, T, C)`` over its valid frames: ``(B, C)``."""
    mask = make_pad_mask(lengths, x.shape[1]).unsqueeze(-1)
    return x.masked_fill(~mask, float("-inf")).amax(dim=1)


def run_packed_rnn(rnn: torch.nn.RNNBase, x: Tensor, lengths: Tensor) -> Tensor:
    """Run a batch-first recurrent layer on the valid frames only; padded outputs are zero.

    Packing keeps the backward direction of a bidirectional layer from starting inside the padding.
    """
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    output, _ = rnn(packed)
    padded, _ = torch.nn.utils.rnn.pad_packed_sequence(output, batch_first=True, total_length=x.shape[1])
    return padded


def check_lengths(lengths: Tensor, batch_size: int, max_len: int, what: str) -> None:
    """Raise ValueError unless ``lengths`` is a 1-D integer tensor of valid lengths for ``what``."""
    if lengths.dim() != 1 or lengths.shape[0] != batch_size:
        raise ValueError(f"{what}: lengths must have shape ({batch_size},), got {tuple(lengths.shape)}")
    if lengths.dtype.is_floating_point:
        raise ValueError(f"{what}: lengths must be integers, got {lengths.dtype}")
    if batch_size and (int(lengths.min()) < 1 or int(lengths.max()) > max_len):
        raise ValueError(
            f"{what}: lengths must lie in [1, {max_len}] (the padded length), "
            f"got min {int(lengths.min())}, max {int(lengths.max())}"
        )
