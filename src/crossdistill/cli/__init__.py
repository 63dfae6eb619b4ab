"""The ``crossdistill`` command line: thin parsers that call one library function per command.

Each command group lives in its own module exposing ``register(subparsers)``; heavy imports happen inside
the handlers so that ``crossdistill --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules under crossdistill.cli, one per command group, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "demo",
    "benchmark",
    "split_study",
    "engine_study",
    "simulate",
    "data",
    "teacher",
    "pretrain",
    "train",
    "predict",
    "evaluate",
    "grid",
    "report",
    "asr",
    "bench",
)


class CommandError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossdistill",
        description="Cross-modal knowledge distillation: text teachers guiding speech students.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"crossdistill.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"crossdistill.cli.{name}":
                continue  # that command group has not been built yet
            raise
        module.register(subparsers)
    return parser


def _version() -> str:
    from crossdistill import __version__

    return f"crossdistill {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except (CommandError, ValueError, FileNotFoundError) as error:
        print(f"crossdistill {args.command}: error: {error}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
