"""Frame-wise LM posteriors from a forced alignment (paper 001, Section 3.2 and its Fig. 2): pure tensors.

An acoustic model predicts one unit per frame; an LM predicts one unit per position of a unit sequence. Paper 001
joins them in two steps:

1. **deduplicate**: collapse each run of equal frame labels into one unit, remembering how many frames it covers
   (``deduplicate``: frame labels (T,) -> units (S,) and segment lengths (S,));
2. run the LM over the unit sequence (not here: this module knows no models), giving one distribution per
   position (S, V);
3. **rearrange**: give every frame of segment k position k's distribution (``rearrange``: (S, ...) -> (T, ...)).

Caches store the (S, ...) per-segment rows and expand them only when a batch is built (``rearrange_padded``), so
a cache grows with the number of segments, not frames. Top-k caches store ``(ids, probs)`` pairs per segment
(``keep_top_k``); ``densify_top_k`` turns them back into full rows over the vocabulary.

A run of equal labels is one segment: two adjacent segments of the same unit in the alignment (e.g. two senones of
one state sequence that happen to be equal, or a word ending in the phone the next begins with) cannot be told
apart from frame labels alone and merge into one unit, as in the paper's figure, where deduplication works on
frame labels.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence


def deduplicate(frame_labels: Tensor) -> tuple[Tensor, Tensor]:
    """Collapse runs of equal labels: (T,) integer labels -> (units (S,), segment_lengths (S,) int64).

    ``torch.repeat_interleave(units, segment_lengths)`` gives ``frame_labels`` back. An empty input gives two empty
    tensors.
    """
    _check_labels(frame_labels)
    units, lengths = torch.unique_consecutive(frame_labels, return_counts=True)
    return units, lengths.to(torch.int64)


def rearrange(position_posteriors: Tensor, segment_lengths: Tensor) -> Tensor:
    """Every frame of segment k gets row k: (S, ...) rows and (S,) lengths -> (sum(lengths), ...) frames.

    Works for any trailing shape: full distributions (S, V), top-k ids or probabilities (S, K), unit ids (S,).
    Segments may be concatenated across utterances (one ragged batch): the expansion is the same.
    """
    _check_lengths(segment_lengths, position_posteriors.shape[0] if position_posteriors.dim() else -1)
    return torch.repeat_interleave(position_posteriors, segment_lengths.to(torch.int64), dim=0)


def rearrange_padded(position_posteriors: Tensor, segment_lengths: Tensor) -> tuple[Tensor, Tensor]:
    """The batched form of :func:`rearrange` for padded batches.

    position_posteriors: (B, S_max, ...) rows, padded along S. segment_lengths: (B, S_max) frames per segment, 0 for
    padding segments (a real segment has at least one frame). Returns the frames (B, T_max, ...), zero-padded, and
    the (B, T_max) bool mask of real frames, T_max being the longest utterance's frame count.
    """
    if position_posteriors.dim() < 2:
        raise ValueError(f"position_posteriors must be (B, S, ...), got shape {tuple(position_posteriors.shape)}")
    if segment_lengths.shape != position_posteriors.shape[:2]:
        raise ValueError(
            f"segment_lengths must have shape {tuple(position_posteriors.shape[:2])} to match position_posteriors "
            f"{tuple(position_posteriors.shape)}, got {tuple(segment_lengths.shape)}"
        )
    if segment_lengths.is_floating_point() or (segment_lengths < 0).any():
        raise ValueError("segment_lengths must be non-negative integers (0 marks a padding segment)")
    lengths = segment_lengths.to(torch.int64)
    frames = torch.repeat_interleave(position_posteriors.flatten(0, 1), lengths.flatten(), dim=0)
    per_utterance = frames.split(lengths.sum(dim=1).tolist())
    padded = pad_sequence(list(per_utterance), batch_first=True)
    total = lengths.sum(dim=1)
    mask = torch.arange(padded.shape[1], device=total.device)[None, :] < total[:, None]
    return padded, mask


def keep_top_k(probs: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The ``k`` most probable units of each row, renormalized to sum to 1: (..., V) -> ids, probs (..., k).

    Ties are broken towards the lower id (``torch.topk`` on a stable sort), so the result is deterministic.
    """
    if not 1 <= k <= probs.shape[-1]:
        raise ValueError(f"top-k must lie in [1, {probs.shape[-1]}] (the vocabulary), got {k}")
    values, ids = torch.sort(probs, dim=-1, descending=True, stable=True)
    values, ids = values[..., :k], ids[..., :k]
    return ids, values / values.sum(dim=-1, keepdim=True)


def densify_top_k(ids: Tensor, probs: Tensor, vocab_size: int) -> Tensor:
    """Scatter top-k ``(ids, probs)`` rows (..., k) into full rows (..., vocab_size) with zeros elsewhere."""
    if ids.shape != probs.shape:
        raise ValueError(f"ids and probs shapes differ: {tuple(ids.shape)} vs {tuple(probs.shape)}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"top-k ids must lie in [0, {vocab_size}), got [{int(ids.min())}, {int(ids.max())}]")
    dense = probs.new_zeros((*probs.shape[:-1], vocab_size))
    return dense.scatter_(-1, ids.to(torch.int64), probs)


def _check_labels(frame_labels: Tensor) -> None:
    if not torch.is_tensor(frame_labels) or frame_labels.dim() != 1:
        raise ValueError(f"frame_labels must be a 1-D tensor, got {getattr(frame_labels, 'shape', frame_labels)!r}")
    if frame_labels.is_floating_point() or frame_labels.is_complex() or frame_labels.dtype == torch.bool:
        raise ValueError(f"frame_labels must hold integer unit ids, got dtype {frame_labels.dtype}")


def _check_lengths(segment_lengths: Tensor, segments: int) -> None:
    if not torch.is_tensor(segment_lengths) or segment_lengths.dim() != 1:
        raise ValueError("segment_lengths must be a 1-D tensor")
    if segment_lengths.shape[0] != segments:
        raise ValueError(
            f"segment_lengths has {segment_lengths.shape[0]} entries but there are {segments} position rows"
        )
    if segment_lengths.is_floating_point() or (segment_lengths < 1).any():
        raise ValueError("segment_lengths must be integers >= 1 (every segment covers at least one frame)")
