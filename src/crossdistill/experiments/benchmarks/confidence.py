"""``crossdistill bench confidence``: vectorized D against a straightforward per-sample, per-mask loop."""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from crossdistill.kd import DEFAULT_N_MASKS, DEFAULT_P, dropout_confidence_from_masks, sample_dropout_masks
from crossdistill.kd.confidence import centre_logits

SPEEDUP_TARGET = 20.0
DIFF_TARGET = 1e-5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--classes", type=int, default=31)
    parser.add_argument("--n-masks", type=int, default=DEFAULT_N_MASKS)
    parser.add_argument("--p", type=float, default=DEFAULT_P)
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats; the best is kept")
    parser.add_argument("--seed", type=int, default=0)


def loop_confidence(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The formula written as loops, as one would first code it: one KL per sample and mask (default site:
    dropout on the centred logits)."""
    out = torch.empty(logits.shape[0], dtype=logits.dtype)
    for b in range(logits.shape[0]):
        log_t = F.log_softmax(logits[b], dim=-1)
        centred = centre_logits(logits[b])
        total = 0.0
        for n in range(masks.shape[0]):
            log_q = F.log_softmax(centred * masks[n, b], dim=-1)
            total += float((log_t.exp() * (log_t - log_q)).sum())
        out[b] = total / masks.shape[0]
    return out


def _best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)  # both implementations on one core: the ratio measures the algorithm, not threads
    generator = torch.Generator().manual_seed(args.seed)
    logits = torch.randn(args.batch, args.classes, generator=generator) * 3
    masks = sample_dropout_masks((args.batch, args.classes), args.n_masks, args.p, generator)
    vectorized = dropout_confidence_from_masks(logits, masks)
    looped = loop_confidence(logits, masks)
    loop_s = _best_time(lambda: loop_confidence(logits, masks), max(1, args.repeats // 2))
    vec_s = _best_time(lambda: dropout_confidence_from_masks(logits, masks), args.repeats * 20)
    speedup = loop_s / vec_s
    max_abs_diff = float((vectorized - looped).abs().max())
    return {
        "batch": args.batch,
        "classes": args.classes,
        "n_masks": args.n_masks,
        "p": args.p,
        "loop_seconds": loop_s,
        "vectorized_seconds": vec_s,
        "speedup": speedup,
        "max_abs_diff": max_abs_diff,
        "targets": {"speedup_min": SPEEDUP_TARGET, "max_abs_diff_max": DIFF_TARGET},
        "meets_targets": speedup >= SPEEDUP_TARGET and max_abs_diff < DIFF_TARGET,
        "threads": torch.get_num_threads(),
    }
