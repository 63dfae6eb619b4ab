"""``crossdistill demo``: the README's main job on the built-in default."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the main job end to end on the built-in default")
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.demo import run_demo

    run_demo(args.out)
    return 0
