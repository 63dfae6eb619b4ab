"""``--engines``: the synthesis engines of a synthetic corpus, one definition for both corpora's commands."""

from __future__ import annotations

import argparse


def add_engines_argument(
    parser: argparse.ArgumentParser, default: str = "espeak alone, as before engines existed"
) -> None:
    """Add ``--engines`` (checked by ``crossdistill.data.engines.parse_engines`` before anything is written);
    ``default`` says what leaving it out means to this command."""
    from crossdistill.data.engines import ALL, ENGINE_NAMES

    parser.add_argument(
        "--engines",
        metavar="LIST",
        help=f"synthesis engines, comma-separated from {', '.join(ENGINE_NAMES)}, or {ALL} (default: {default}); one "
        "not installed is skipped with a note (docs/data.md)",
    )


def add_held_out_engine_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--held-out-engine`` (checked by ``crossdistill.data.synth.check_held_out_engine`` before any work)."""
    parser.add_argument("--held-out-engine", help="with --split unseen-engine: the engine kept for its test set")
