"""Options shared by the studies that train the vanilla student over seeds (split-study, engine-study)."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossdistill.cli.grid import parse_seeds
from crossdistill.experiments.benchmark import GRID_CONFIG
from crossdistill.experiments.setup import SetupSettings


def add_vanilla_study_arguments(parser: argparse.ArgumentParser) -> None:
    """--seeds, --grid, --jobs, --pretrain-epochs and the training overrides."""
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


def vanilla_study_inputs(args: argparse.Namespace) -> tuple[SetupSettings, tuple[int, ...]]:
    """The setup settings (--preset, --pretrain-epochs, --jobs) and the seeds, checked before any work."""
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if not args.grid.is_file():
        raise FileNotFoundError(f"--grid {args.grid} does not exist")
    seeds = tuple(parse_seeds(args.seeds))
    return SetupSettings(corpus_preset=args.preset, pretrain_epochs=args.pretrain_epochs, jobs=args.jobs), seeds
