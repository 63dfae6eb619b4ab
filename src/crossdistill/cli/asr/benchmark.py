"""``crossdistill asr benchmark NAME``: paper 001's experiments over seeds (``fig3``: the seq2seq sweep of Fig. 3;
``table1``: the hybrid AM's Table 1).

Each benchmark lives in its own module ``crossdistill.cli.asr.benchmark_<name>`` exposing ``register(benchmarks)``,
where ``benchmarks`` is this group's sub-parser action; a module that does not exist yet is skipped, so each
benchmark lands on its own.
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARK_MODULES = ("fig3", "table1")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("benchmark", help="paper 001's experiments over seeds, resumable (fig3, table1)")
    benchmarks = parser.add_subparsers(dest="asr_benchmark", metavar="NAME", required=True)
    for name in BENCHMARK_MODULES:
        try:
            module = importlib.import_module(f"crossdistill.cli.asr.benchmark_{name}")
        except ModuleNotFoundError as error:
            if error.name == f"crossdistill.cli.asr.benchmark_{name}":
                continue  # that benchmark has not been built yet
            raise
        module.register(benchmarks)
