"""``crossdistill simulate-confidence``: paper 000's Fig. 2 simulation."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate-confidence",
        help="reproduce paper 000's Fig. 2: dropout confidence D against toy teachers of increasing sharpness",
        description="Writes DIR/confidence_simulation.csv and DIR/confidence_simulation*.png.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of the dropout masks and gaussian toy logits")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.confidence_simulation import SimulationGrid, run_simulation

    outputs = run_simulation(args.out, SimulationGrid(seed=args.seed))
    for path in outputs.values():
        print(path)
    return 0
