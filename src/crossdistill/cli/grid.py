"""``crossdistill grid``: paper 000's Table I over seeds; finished runs are skipped on restart."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grid",
        help="run paper 000's Table I grid (every cell x seed); restart to resume",
        description="Example: crossdistill grid --config configs/grid/table1.yaml --seeds 0,1,2 --out runs/grid "
        "corpus=DIR acoustic=DIR teacher_cache=DIR teacher_dir=DIR",
    )
    parser.add_argument("--config", type=Path, required=True, help="grid YAML (cells + base settings)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--out", type=Path, required=True, help="grid folder: one run folder per cell and seed")
    parser.add_argument("--jobs", type=int, default=1, help="training processes at once (default 1)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="overrides for every run")
    parser.set_defaults(handler=run)


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must list distinct integers, got {text!r}")
    return seeds


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.grid import run_grid
    from crossdistill.experiments.report import write_report

    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    run_grid(args.config, parse_seeds(args.seeds), args.out, args.overrides, args.jobs)
    print(f"report: {write_report(args.out)}")
    return 0
