"""``crossdistill predict``: intents of audio files as JSON lines."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict action, object and location of audio files (wav/flac, any rate)",
        description="Prints one JSON object per file with the predicted slots and their probabilities.",
    )
    parser.add_argument("--model", type=Path, required=True, help="a run folder or its model/ folder")
    parser.add_argument("audio", nargs="+", type=Path, help="audio files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.train.predict import predict_files

    for line in predict_files(args.model, args.audio):
        print(line)
    return 0
