"""``crossdistill bench asr-train``: hybrid AM training throughput (frames/s) without and with the KD heads.

Both settings time the whole training step of ``crossdistill asr train`` on the same synthetic batches in this
process: building the batch from per-segment teacher rows (``collate_hybrid``: frames expanded from segments),
SpecAugment, the forward pass, paper 001 eq. 4 (senone CE, plus three auxiliary heads over senones, phones and
subwords with their top-k teacher rows scattered into full distributions and a tempered KL each), backward and the
Adam step. ``kd_overhead`` is the with-KD step time over the baseline's (target <= 1.15). Sizes default to the
``crossdistill asr units`` defaults (1,000 senones, 1,000 subwords) and the LM caches' top-32 rows; segment lengths
follow the tiny corpus's units (about 2.7 frames per senone segment, 7 per phone, 9 per subword).

Decoding's real-time factor needs a trained AM (an untrained one's scores make the search do other work), so it is
measured when ``--decode-run RUN --decode-corpus CORPUS`` name a finished hybrid run and its corpus: ``crossdistill
asr decode`` of ``--decode-split`` (default dev) with the decoder's defaults, on a copy of the run's model (nothing is
written into RUN); the JSON's ``decode`` then holds the total, AM and search real-time factors.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from crossdistill.kd import StepContext
from crossdistill.students.asr import SENONE_HEAD, BatchSpecAugment, HybridAcousticModel, HybridModelConfig, aux_head
from crossdistill.students.asr.specaugment import SpecAugmentConfig
from crossdistill.teachers.lm.posteriors import SegmentPosteriors
from crossdistill.train.asr.hybrid_data import collate_hybrid
from crossdistill.train.asr.hybrid_module import build_eq4_objective, compute_step

KD_OVERHEAD_TARGET = 1.15
MEAN_SEGMENT_FRAMES = {"senone": 2.7, "phone": 7.0, "subword": 9.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=int, default=8, help="utterances per step (default 8)")
    parser.add_argument("--seconds", type=float, default=5.0, help="mean utterance length in seconds (default 5)")
    parser.add_argument("--senones", type=int, default=1000, help="senone inventory K (default 1000)")
    parser.add_argument("--subwords", type=int, default=1000, help="subword inventory V (default 1000)")
    parser.add_argument("--top-k", type=int, default=32, help="teacher rows kept per segment (default 32)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per setting and round (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the fastest counts (default 2)")
    parser.add_argument("--d-model", type=int, default=HybridModelConfig.d_model)
    parser.add_argument("--layers", type=int, default=HybridModelConfig.num_layers)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: one core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--decode-run", type=Path, help="a finished `crossdistill asr train` hybrid run to decode with")
    parser.add_argument("--decode-corpus", type=Path, help="that run's corpus folder")
    parser.add_argument("--decode-split", default="dev", help="split decoded for the real-time factor (default dev)")
    parser.add_argument("--features-cache", type=Path, help="fbank cache root of the decoding (default: the usual)")


def _segments(frames: int, mean: float, rng: np.random.Generator) -> list[int]:
    lengths = []
    while sum(lengths) < frames:
        lengths.append(int(rng.integers(1, max(2, round(2 * mean)))))
    lengths[-1] -= sum(lengths) - frames
    return [n for n in lengths if n > 0]


def make_items(args: argparse.Namespace, vocab: dict[str, int], rng: np.random.Generator) -> list[dict]:
    """One synthetic batch of dataset items (features, senone labels, top-k segment rows of every teacher)."""
    items = []
    for i in range(args.batch_size):
        frames = int(args.seconds * 100 * rng.uniform(0.8, 1.2))
        item = {
            "utt_id": f"0-0-{i:04d}",
            "features": torch.from_numpy(rng.normal(size=(frames, 80)).astype(np.float32)),
            "senone": torch.from_numpy(rng.integers(0, vocab["senone"], frames)),
        }
        for unit, size in vocab.items():
            lengths = torch.tensor(_segments(frames, MEAN_SEGMENT_FRAMES[unit], rng))
            k = min(args.top_k, size)
            ids = torch.from_numpy(np.stack([rng.choice(size, k, replace=False) for _ in range(len(lengths))]))
            probs = torch.softmax(torch.from_numpy(rng.normal(size=(len(lengths), k)).astype(np.float32)), dim=-1)
            item["teacher/" + unit] = SegmentPosteriors(ids[:, 0], lengths, probs, ids, size)
        items.append(item)
    return items


def _make_step(model, units: list[str], items: list[dict], vocab: dict[str, int]):
    objective = build_eq4_objective({unit: (1.0, 1.0) for unit in units})
    augment = BatchSpecAugment(SpecAugmentConfig())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    heads = {SENONE_HEAD} | {aux_head(unit) for unit in units}
    selected = [{k: v for k, v in item.items() if not k.startswith("teacher/") or k[8:] in units} for item in items]

    def step() -> None:
        batch = collate_hybrid(selected)
        batch["features"] = augment(batch["features"], batch["lengths"])
        optimizer.zero_grad(set_to_none=True)
        result = compute_step(model, objective, batch, {u: vocab[u] for u in units}, StepContext(1, 1))
        result.total.backward()
        optimizer.step()

    # The baseline model has no auxiliary heads at all, as a baseline run's model has none.
    assert set(model.head_names) == heads
    return step


def _time(step, steps: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def measure_decoding(args: argparse.Namespace) -> dict | None:
    """Decode ``--decode-split`` with a copy of the trained run's model; None when no run is given."""
    run, corpus = getattr(args, "decode_run", None), getattr(args, "decode_corpus", None)
    if run is None and corpus is None:
        return None
    if run is None or corpus is None:
        raise ValueError("--decode-run and --decode-corpus go together: a trained hybrid run and its corpus")
    from crossdistill.train.asr.hybrid_decoding.decode import decode_hybrid
    from crossdistill.train.asr.hybrid_decoding.options import HybridDecodeOptions

    model = Path(run) / "model" if (Path(run) / "model").is_dir() else Path(run)
    if not model.is_dir():
        raise FileNotFoundError(f"--decode-run {run}: no trained model there (run `crossdistill asr train` first)")
    with tempfile.TemporaryDirectory(prefix="bench-asr-decode-") as scratch:
        copy = Path(scratch) / "run" / "model"
        shutil.copytree(model, copy)
        options = HybridDecodeOptions(split=args.decode_split, threads=args.threads, features_cache=args.features_cache)
        report = decode_hybrid(copy, corpus, options, progress=False)
    keys = ("split", "utterances", "audio_seconds", "rtf", "am_rtf", "search_rtf", "wer")
    return {**{key: report[key] for key in keys}, "beam": report["search"]["beam"], "run": str(run)}


def run(args: argparse.Namespace) -> dict:
    decoding = measure_decoding(args)  # argument errors before the timing starts
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    vocab = {"senone": args.senones, "phone": 41, "subword": args.subwords}
    items = make_items(args, vocab, rng)
    frames = sum(item["features"].shape[0] for item in items)
    config = HybridModelConfig(d_model=args.d_model, num_layers=args.layers, num_heads=4, ff_dim=4 * args.d_model)
    settings = {"baseline": [], "kd": list(vocab)}
    steps = {}
    for name, units in settings.items():
        torch.manual_seed(args.seed)
        heads = {SENONE_HEAD: args.senones} | {aux_head(unit): vocab[unit] for unit in units}
        steps[name] = _make_step(HybridAcousticModel(config, heads).train(), units, items, vocab)
    seconds = {name: [] for name in settings}
    for _ in range(args.rounds):  # interleaved, so both settings see the same machine load
        for name, step in steps.items():
            seconds[name].append(_time(step, args.steps))
    best = {name: min(values) for name, values in seconds.items()}
    overhead = best["kd"] / best["baseline"]
    return {
        "batch": {"utterances": args.batch_size, "frames": frames, "top_k": args.top_k, "vocab": vocab},
        "model": {"d_model": args.d_model, "layers": args.layers, "threads": args.threads},
        "baseline_frames_per_second": round(frames / best["baseline"], 1),
        "kd_frames_per_second": round(frames / best["kd"], 1),
        "baseline_step_seconds": round(best["baseline"], 6),
        "kd_step_seconds": round(best["kd"], 6),
        "kd_overhead": round(overhead, 3),
        "kd_overhead_target": KD_OVERHEAD_TARGET,
        "meets_target": overhead <= KD_OVERHEAD_TARGET,
        "decode": decoding
        if decoding is not None
        else "not measured: give --decode-run RUN --decode-corpus CORPUS (a trained hybrid run and its corpus)",
    }
