"""``crossdistill predict``: intents of audio files as JSON lines."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict action, object and location of audio files (wav/flac, any rate)",
        description="Prints one JSON line per file, in order: the predicted action, object and location, each slot's "
        "probability and the intent's, or the file and an error when it cannot be read. Keeps going after an error "
        "and exits with status 1 when any file failed.",
    )
    parser.add_argument("--model", type=Path, required=True, help="a run folder or its model/ folder")
    parser.add_argument("audio", nargs="+", type=Path, help="audio files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from crossdistill.train.predict import predict_files

    failed = 0
    for record, ok in predict_files(args.model, args.audio):
        print(json.dumps(record), flush=True)
        failed += not ok
    if failed:
        print(f"crossdistill predict: error: {failed} of {len(args.audio)} files failed", file=sys.stderr)
        return 1
    return 0
