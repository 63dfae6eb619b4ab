"""``crossdistill split-study``: teachers (MiniLM, scratch BiLSTM) and the vanilla student on each corpus split."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossdistill.cli.grid import parse_seeds
from crossdistill.experiments.benchmark import GRID_CONFIG
from crossdistill.experiments.setup import SetupSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "split-study",
        help="text teachers and the vanilla student on the random and unseen splits (docs/splits.md)",
        description="For each --splits entry: the benchmark's setup under OUT/<split> (corpus, acoustic module, "
        "MiniLM teacher and cache), the other teachers on the same corpus, and the vanilla student over --seeds; "
        "writes OUT/split_study.json and OUT/split_study.md. Every stage resumes: give the same command again.",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/split-study"), help="output folder")
    parser.add_argument("--preset", default="default", help="corpus preset (default: default)")
    parser.add_argument(
        "--splits", default="random,unseen-utterance", help="comma-separated corpus splits (default %(default)s)"
    )
    parser.add_argument(
        "--teachers", default="transformer,scratch", help="comma-separated teacher archs (default %(default)s)"
    )
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds of the vanilla student (default 0,1,2)")
    parser.add_argument(
        "--grid",
        type=Path,
        default=GRID_CONFIG,
        help="grid config whose base and vanilla cell the student runs use (default configs/grid/table1.yaml)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="training processes at once (default 2)")
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        default=SetupSettings.pretrain_epochs,
        help="acoustic pre-training epochs (default %(default)s)",
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="training overrides for every vanilla run")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.split_study import run_split_study

    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    splits = tuple(part.strip() for part in args.splits.split(",") if part.strip())
    teachers = tuple(part.strip() for part in args.teachers.split(",") if part.strip())
    settings = SetupSettings(corpus_preset=args.preset, pretrain_epochs=args.pretrain_epochs, jobs=args.jobs)
    if not args.grid.is_file():
        raise FileNotFoundError(f"--grid {args.grid} does not exist")
    seeds = tuple(parse_seeds(args.seeds))
    run_split_study(args.out, settings, splits, seeds, teachers, args.grid, overrides=tuple(args.overrides))
    return 0
