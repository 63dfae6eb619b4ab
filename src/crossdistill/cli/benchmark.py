"""``crossdistill benchmark``: the calibrated default benchmark (setup, Table I grid over seeds, report)."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossdistill.cli.grid import parse_seeds
from crossdistill.data.splits import SPLIT_KINDS
from crossdistill.experiments.setup import SetupSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="paper 000's Table I on the calibrated default corpus: setup, grid over seeds, report",
        description="Synthesizes the corpus, pre-trains the acoustic module, fine-tunes the MiniLM teacher and "
        "builds its cache under --out, then runs every Table I cell for every seed into OUT/grid and writes "
        "OUT/grid/report.md. Every stage resumes: give the same command again after an interruption.",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/benchmark"), help="output folder")
    parser.add_argument("--preset", default="default", help="corpus preset (default: default)")
    parser.add_argument(
        "--split",
        choices=SPLIT_KINDS,
        default=SetupSettings.corpus_split,
        help="corpus split (default %(default)s; unseen-utterance: test phrasings never said in training, "
        "docs/splits.md)",
    )
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--jobs", type=int, default=2, help="training processes at once (default 2)")
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        default=SetupSettings.pretrain_epochs,
        help="acoustic pre-training epochs (default %(default)s)",
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="training overrides for every grid run")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.benchmark import run_benchmark

    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    settings = SetupSettings(
        corpus_preset=args.preset, corpus_split=args.split, pretrain_epochs=args.pretrain_epochs, jobs=args.jobs
    )
    run_benchmark(args.out, settings, tuple(parse_seeds(args.seeds)), overrides=tuple(args.overrides))
    return 0
