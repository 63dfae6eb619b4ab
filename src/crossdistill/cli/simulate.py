"""``crossdistill simulate-confidence``: paper 000's Fig. 2 simulation, for each reading of D."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate-confidence",
        help="reproduce paper 000's Fig. 2: dropout confidence D against toy teachers of increasing sharpness",
        description="Writes DIR/confidence_simulation.csv, DIR/confidence_simulation_summary.json, "
        "DIR/confidence_simulation*.png (default reading of D) and DIR/confidence_sites.png (every reading side "
        "by side). The summary also says how far each reading's D moves when a constant is added to the logits.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of the dropout masks and gaussian toy logits")
    parser.add_argument(
        "--teacher-cache",
        type=Path,
        help="also read a real teacher cache's logits under every reading (mean D and recip(D), before and after "
        "adding a constant to the logits), into the summary",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.confidence_simulation import SimulationGrid, run_simulation

    outputs = run_simulation(args.out, SimulationGrid(seed=args.seed), teacher_cache=args.teacher_cache)
    for path in outputs.values():
        print(path)
    return 0
