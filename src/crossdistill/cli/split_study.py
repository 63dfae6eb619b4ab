"""``crossdistill split-study``: teachers (MiniLM, scratch BiLSTM) and the vanilla student on each corpus split."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossdistill.cli.study_arguments import add_vanilla_study_arguments, vanilla_study_inputs


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
    add_vanilla_study_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.split_study import run_split_study

    settings, seeds = vanilla_study_inputs(args)

    splits = tuple(part.strip() for part in args.splits.split(",") if part.strip())
    teachers = tuple(part.strip() for part in args.teachers.split(",") if part.strip())
    run_split_study(args.out, settings, splits, seeds, teachers, args.grid, overrides=tuple(args.overrides))
    return 0
