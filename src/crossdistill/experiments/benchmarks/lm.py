"""``crossdistill bench lm``: LM-teacher training speed per unit, posterior-cache build time and size, in one run.

On a units folder (``--units``; made with ``crossdistill asr units``), with one thread by default:

- ``train``: units per second of LM training steps (forward, backward, gradient clipping, Adam) at the default
  model size (``LMModelOptions``) on length-bucketed batches of the folder's LM-train text, median over
  ``--steps`` steps after a warm-up step; the step of ``crossdistill asr lm train`` without Lightning's overhead;
- ``posteriors``: the frame-wise posterior cache of every split (deduplicate, LM forward, top-k) built by the code
  of ``crossdistill asr lm posteriors`` with a freshly initialized LM of the default size (the cost does not depend
  on the weights): seconds per hour of audio, frames per segment, bytes per frame of the top-k cache as written
  and of a full-distribution cache (written when it stays under ``--max-full-mib``, else computed from the same
  layout);
- ``paper_scale``: what full-distribution caches would take at the paper's 4,160 senones and 5,000 subwords on
  LibriSpeech's 100 h training set, per frame and per segment (this folder's measured frames per segment),
  against a top-k cache: computed from the cache layout, labelled as such.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

PAPER_VOCAB = {"senone": 4160, "subword": 5000, "phone": 41}
PAPER_TRAIN_HOURS = 100  # paper 001 trains on LibriSpeech's 100 h clean set
FLOAT_BYTES = 4  # float32 probabilities (posteriors.PROB_DTYPE)
FRAMES_PER_HOUR = 360_000  # 10 ms frames


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--units", type=Path, required=True, help="units folder (crossdistill asr units --out)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per unit")
    parser.add_argument("--batch-size", type=int, default=32, help="sentences per training step")
    parser.add_argument("--top-k", type=int, default=None, help="posterior cache top-k (default: the command's)")
    parser.add_argument("--max-full-mib", type=float, default=256.0, help="largest full cache actually written")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one core)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> dict:
    import torch

    from crossdistill.teachers.lm.config import LMModelOptions
    from crossdistill.teachers.lm.posteriors import DEFAULT_TOP_K
    from crossdistill.teachers.lm.units_folder import open_units_folder

    if args.steps < 1 or args.batch_size < 1 or args.threads < 1:
        raise ValueError("--steps, --batch-size and --threads must be >= 1")
    torch.set_num_threads(args.threads)
    units = open_units_folder(args.units)
    sizes = LMModelOptions()
    top_k = DEFAULT_TOP_K if args.top_k is None else args.top_k
    result = {
        "units": str(args.units),
        "units_key": units.key,
        "model": {"embedding_dim": sizes.embedding_dim, "hidden_dim": sizes.hidden_dim, "num_layers": sizes.num_layers},
        "threads": torch.get_num_threads(),
        "train": {},
        "posteriors": {},
    }
    for unit in ("phone", "senone", "subword"):
        torch.manual_seed(args.seed)
        lm = _default_lm(units, unit, sizes)
        result["train"][unit] = _time_training(lm, units, unit, args)
        result["posteriors"][unit] = _time_posteriors(lm, units, top_k, args.max_full_mib)
    result["paper_scale"] = _paper_scale(result["posteriors"], top_k)
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    result["cpu_count"] = os.cpu_count()
    return result


def _default_lm(units, unit: str, sizes):
    from crossdistill.teachers.lm.model import LMConfig, LSTMLanguageModel

    vocabulary = units.vocabulary(unit)
    config = LMConfig(unit=unit, inventory=vocabulary.symbols, embedding_dim=sizes.embedding_dim,
                      hidden_dim=sizes.hidden_dim, num_layers=sizes.num_layers, dropout=sizes.dropout)  # fmt: skip
    return LSTMLanguageModel(config)


def _time_training(lm, units, unit: str, args: argparse.Namespace) -> dict:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DistributedSampler

    from crossdistill.teachers.lm.text import IGNORE_INDEX, SentenceDataset, make_lm_batch, read_unit_sentences
    from crossdistill.teachers.lm.training import EpochBucketBatchSampler

    sentences = read_unit_sentences(units.lm_text(unit, "train"), lm.vocabulary)
    dataset = SentenceDataset(sentences)
    sampler = DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=True, seed=args.seed)
    batches = iter(EpochBucketBatchSampler(sampler, args.batch_size, lengths=dataset.lengths(), shuffle=True,
                                           seed=args.seed))  # fmt: skip
    optimizer = torch.optim.Adam(lm.parameters(), lr=1e-3)
    lm.train()
    times, counts = [], []
    for step in range(args.steps + 1):
        try:
            rows = next(batches)
        except StopIteration:
            break
        batch = make_lm_batch([dataset[i] for i in rows], lm.vocabulary.boundary)
        start = time.perf_counter()
        logits = lm(batch["inputs"])
        loss = F.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten(), ignore_index=IGNORE_INDEX)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        optimizer.step()
        if step:  # the first step warms up
            times.append(time.perf_counter() - start)
            counts.append(int((batch["targets"] != IGNORE_INDEX).sum()))
    rates = sorted(c / t for c, t in zip(counts, times, strict=True))
    return {
        "vocab": lm.vocabulary.size,
        "parameters": sum(p.numel() for p in lm.parameters()),
        "train_sentences": len(sentences),
        "train_units": sentences.num_units,
        "mean_units_per_sentence": round(sentences.num_units / len(sentences), 2),
        "timed_steps": len(times),
        "units_per_second": round(rates[len(rates) // 2], 1),
        "epoch_seconds_estimate": round(sentences.num_predictions / rates[len(rates) // 2], 1),
    }


def _time_posteriors(lm, units, top_k: int, max_full_mib: float) -> dict:
    from crossdistill.teachers.lm.posteriors import effective_top_k, segment_posteriors

    lm.eval()
    vocab = lm.vocabulary.size
    top_k = effective_top_k(top_k, vocab)
    seconds, frames, segments, top_bytes, full_bytes, full_written = 0.0, 0, 0, 0, 0, True
    with tempfile.TemporaryDirectory(prefix="crossdistill-bench-lm-") as tmp:
        for split in units.splits():
            labels = units.frame_labels(split, lm.config.unit)
            start = time.perf_counter()
            arrays = segment_posteriors(lm, labels, top_k)
            seconds += time.perf_counter() - start
            top_bytes += _npz_bytes(Path(tmp) / f"{split}.top.npz", arrays)
            n_segments, n_frames = len(arrays["units"]), int(arrays["segment_lengths"].sum())
            segments, frames = segments + n_segments, frames + n_frames
            if top_k and n_segments * vocab * FLOAT_BYTES <= max_full_mib * 2**20:
                full_bytes += _npz_bytes(Path(tmp) / f"{split}.full.npz", segment_posteriors(lm, labels, 0))
            elif top_k:
                full_written = False
    hours = frames / FRAMES_PER_HOUR
    if not top_k:
        full_bytes = top_bytes
    elif not full_written:  # the full layout without writing it: the top-k file with V float32 columns instead
        full_bytes = top_bytes + segments * (vocab * FLOAT_BYTES - top_k * (FLOAT_BYTES + id_bytes(vocab)))
    return {
        "vocab": vocab,
        "top_k": top_k,
        "utterances": sum(len(units.frame_labels(s, lm.config.unit)) for s in units.splits()),
        "segments": segments,
        "frames": frames,
        "audio_hours": round(hours, 4),
        "frames_per_segment": round(frames / max(segments, 1), 3),
        "build_seconds": round(seconds, 3),
        "build_seconds_per_audio_hour": round(seconds / hours, 1) if hours else None,
        "cache_bytes": top_bytes,
        "cache_bytes_per_frame": round(top_bytes / max(frames, 1), 2),
        "full_cache_bytes_per_frame": round(full_bytes / max(frames, 1), 2),
        "full_cache_measured": full_written,
    }


def id_bytes(vocab: int) -> int:
    from crossdistill.teachers.lm.posteriors import id_dtype

    return id_dtype(vocab).itemsize


def _npz_bytes(path: Path, arrays: dict[str, np.ndarray]) -> int:
    np.savez(path, **arrays)
    return path.stat().st_size


def _paper_scale(measured: dict[str, dict], top_k: int) -> dict:
    """Full-distribution caches at the paper's vocabularies on 100 h of audio (computed, not measured)."""
    frames = PAPER_TRAIN_HOURS * FRAMES_PER_HOUR
    scale = {"computed": "from the cache layout (float32 rows, int16 top-k ids) and this folder's frames per segment",
             "train_hours": PAPER_TRAIN_HOURS, "frames": frames}  # fmt: skip
    for unit in ("senone", "subword"):
        vocab, per_segment = PAPER_VOCAB[unit], measured[unit]["frames_per_segment"]
        per_frame_row = vocab * FLOAT_BYTES
        row_top_k = top_k * (FLOAT_BYTES + id_bytes(vocab)) + 8  # + unit id and segment length (int32 each)
        scale[unit] = {
            "vocab": vocab,
            "frames_per_segment": per_segment,
            "full_bytes_per_frame_if_stored_per_frame": per_frame_row,
            "full_bytes_per_frame_stored_per_segment": round((per_frame_row + 8) / per_segment, 1),
            "full_gib_per_frame_storage": round(frames * per_frame_row / 2**30, 1),
            "full_gib_per_segment_storage": round(frames * (per_frame_row + 8) / per_segment / 2**30, 1),
            "top_k": top_k,
            "top_k_gib_per_segment_storage": round(frames * row_top_k / per_segment / 2**30, 2),
        }
    return scale
