"""``crossdistill report DIR``: Table I, paired comparisons and plots from a grid folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="render a grid folder into report.md with table and plots")
    parser.add_argument("grid_dir", type=Path, metavar="DIR", help="a folder written by `crossdistill grid`")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.report import write_report

    path = write_report(args.grid_dir)
    print(path.read_text())
    print(f"written to {path}")
    return 0
