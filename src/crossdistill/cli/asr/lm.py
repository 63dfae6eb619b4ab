"""``crossdistill asr lm ...``: paper 001's LM teachers (train) and their cached outputs (posteriors, transcripts)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("lm", help="LSTM LM teachers over senones, phones or subwords, and their outputs")
    lm_commands = parser.add_subparsers(dest="lm_command", metavar="LM_COMMAND", required=True)

    train = lm_commands.add_parser(
        "train",
        help="train an LSTM LM on a units folder's LM text (resumes when rerun)",
        description="Trains on UNITS/lm/{unit}.train.txt, keeps the epoch with the lowest perplexity on "
        "UNITS/lm/{unit}.valid.txt and writes OUT/metrics.json (perplexities on held-out LM text and on the AM dev "
        "transcripts, next to an add-one unigram baseline). Other settings as KEY=VALUE (see "
        "crossdistill.teachers.lm.config.LMTrainConfig), e.g. `model.hidden_dim=128 epochs=5 threads=1`. "
        "Rerunning the same command resumes a killed run exactly; a finished run is left as it is.",
    )
    train.add_argument("--units", type=Path, help="units folder (crossdistill asr units --out)")
    train.add_argument("--unit", choices=("senone", "phone", "subword"), help="the LM's unit")
    train.add_argument("--out", type=Path, help="run folder (the trained LM, checkpoints, metrics.json)")
    train.add_argument("--config", type=Path, help="YAML config file (keys of LMTrainConfig)")
    train.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides (omegaconf dot-list)")
    train.set_defaults(handler=run_train)

    for name, help_text in (
        ("posteriors", "frame-wise LM posteriors of every AM utterance (deduplicate -> LM -> per segment)"),
        ("transcripts", "the subword LM's next-token distributions on every unique reference transcript"),
    ):
        sub = lm_commands.add_parser(name, help=help_text, description=help_text + ", cached and keyed.")
        sub.add_argument("--lm", type=Path, required=True, help="trained LM folder (crossdistill asr lm train --out)")
        sub.add_argument("--corpus", type=Path, required=True, help="the corpus folder the units were made from")
        sub.add_argument("--units", type=Path, help="units folder (default: the one the LM was trained on)")
        sub.add_argument("--top-k", type=int, default=None, help="keep the K most probable units, renormalized "
                         "(default: posteriors.DEFAULT_TOP_K; 0: full distributions)")  # fmt: skip
        sub.add_argument("--out", type=Path, help="cache folder (default: LM/posteriors/KEY or LM/transcripts/KEY)")
        sub.add_argument("--batch-size", type=int, default=64, help="sentences per LM batch")
        sub.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        sub.add_argument("--no-progress", action="store_true", help="no progress bar")
        sub.set_defaults(handler=run_posteriors if name == "posteriors" else run_transcripts)


def run_train(args: argparse.Namespace) -> int:
    from crossdistill.teachers.lm.config import load_lm_train_config
    from crossdistill.teachers.lm.training import train_lm

    flags = {"units": args.units, "unit": args.unit, "out": args.out}
    overrides = [f"{key}={value}" for key, value in flags.items() if value is not None] + list(args.overrides)
    metrics = train_lm(load_lm_train_config(args.config, overrides))
    if metrics:
        keys = ("unit", "vocab", "selected_epoch", "perplexity", "unigram_perplexity", "train_units_per_second")
        print(json.dumps({"out": str(args.out or ""), **{key: metrics[key] for key in keys}}))
    return 0


def _cache_options(args: argparse.Namespace):
    from crossdistill.teachers.lm.posteriors import CacheOptions

    return CacheOptions(
        lm=args.lm,
        corpus=args.corpus,
        units=args.units,
        top_k=args.top_k,
        out=args.out,
        batch_size=args.batch_size,
        threads=args.threads,
        progress=not args.no_progress,
    )


def run_posteriors(args: argparse.Namespace) -> int:
    from crossdistill.teachers.lm.posteriors import build_posterior_cache

    print(json.dumps(build_posterior_cache(_cache_options(args))))
    return 0


def run_transcripts(args: argparse.Namespace) -> int:
    from crossdistill.teachers.lm.transcripts import build_transcript_cache

    print(json.dumps(build_transcript_cache(_cache_options(args))))
    return 0
