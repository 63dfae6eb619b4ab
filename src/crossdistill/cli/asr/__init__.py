"""``crossdistill asr ...``: paper 001's side (LibriSpeech-layout corpora, units, LM teachers, acoustic models).

Each subcommand group lives in its own module under this package exposing ``register(commands)``, where
``commands`` is the ``asr`` group's sub-parser action; a module that does not exist yet is skipped, so the
groups can land one at a time.
"""

from __future__ import annotations

import argparse
import importlib

# Modules under crossdistill.cli.asr, in the order ``crossdistill asr --help`` lists them.
SUBCOMMAND_MODULES = ("data", "units", "lm", "train", "decode", "align", "benchmark", "engine_study")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "asr", help="paper 001: LibriSpeech-layout corpora, unit inventories, LM teachers, acoustic models"
    )
    commands = parser.add_subparsers(dest="asr_command", metavar="SUBCOMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"crossdistill.cli.asr.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"crossdistill.cli.asr.{name}":
                continue  # that subcommand group has not been built yet
            raise
        module.register(commands)
