"""``crossdistill benchmark``: the calibrated default benchmark (setup, Table I grid over seeds, report)."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossdistill.cli.grid import parse_seeds
from crossdistill.data.splits import SINGLE_ENGINE_SPLIT_KINDS
from crossdistill.experiments.setup import SetupSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    from crossdistill.cli.engine_arguments import add_engines_argument
    from crossdistill.experiments.benchmark import BENCHMARK_ENGINES

    parser = subparsers.add_parser(
        "benchmark",
        help="paper 000's Table I on the calibrated default corpus: setup, grid over seeds, report",
        description="Synthesizes the corpus, pre-trains the acoustic module, fine-tunes the MiniLM teacher and "
        "builds its cache under --out, then runs every Table I cell for every seed into OUT/grid and writes "
        "OUT/grid/report.md. Every stage resumes: give the same command again after an interruption. "
        "--config names a benchmark file (configs/benchmark/v2.yaml: paper 000's second pass); the options below "
        "override it, and without it they default to the calibrated default benchmark.",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/benchmark"), help="output folder")
    parser.add_argument("--config", type=Path, help="benchmark YAML: setup, seeds, grid, overrides")
    parser.add_argument("--preset", help=f"corpus preset (default: {SetupSettings.corpus_preset})")
    parser.add_argument(
        "--split",
        choices=SINGLE_ENGINE_SPLIT_KINDS,
        help=f"corpus split (default {SetupSettings.corpus_split}; unseen-utterance: test phrasings never said in "
        "training, docs/splits.md)",
    )
    parser.add_argument(
        "--label-noise", type=float, help="share of training utterances given a wrong intent (default: the preset's)"
    )
    add_engines_argument(parser, default=f"{BENCHMARK_ENGINES}: every installed engine; espeak: the corpus of the "
                         "results measured before issue 15")  # fmt: skip
    parser.add_argument("--seeds", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--grid", type=Path, help="grid config (default configs/grid/table1.yaml)")
    parser.add_argument("--jobs", type=int, help=f"training processes at once (default {SetupSettings.jobs})")
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        help=f"acoustic pre-training epochs (default {SetupSettings.pretrain_epochs})",
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="training overrides for every grid run")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.benchmark import load_benchmark_config, run_benchmark

    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    given = {"corpus_preset": args.preset, "corpus_split": args.split, "pretrain_epochs": args.pretrain_epochs,
             "jobs": args.jobs, "corpus_label_noise": args.label_noise, "corpus_engines": args.engines}  # fmt: skip
    config = load_benchmark_config(args.config, {key: value for key, value in given.items() if value is not None})
    seeds = tuple(parse_seeds(args.seeds)) if args.seeds is not None else tuple(config.seeds)
    grid = args.grid if args.grid is not None else Path(config.grid)
    if not grid.is_file():
        raise FileNotFoundError(f"--grid {grid} does not exist")
    run_benchmark(args.out, config.setup, seeds, grid, overrides=(*config.overrides, *args.overrides))
    return 0
