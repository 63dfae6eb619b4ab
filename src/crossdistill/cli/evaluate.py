"""``crossdistill evaluate``: score a trained student on a corpus split (intent and slot errors, confusions)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a trained student on a corpus split: intent error, each slot's error, confusions of intents",
        description="Predicts every utterance of --split and writes <split>.json (errors, per-intent errors, every "
        "(true, predicted) pair's count) and <split>.md (tables) to --out; prints the errors as JSON.",
    )
    parser.add_argument("--model", type=Path, required=True, help="a run folder (crossdistill train) or its model/")
    parser.add_argument("--corpus", type=Path, required=True, help="corpus root in the FSC layout")
    parser.add_argument("--split", default="test", help="train, valid or test (default %(default)s)")
    parser.add_argument("--out", type=Path, help="output folder (default: <model>/evaluation)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.train.evaluate import evaluate_model

    result = evaluate_model(args.model, args.corpus, args.split, args.out)
    keys = ("split", "utterances", "intent_error", "slot_errors", "written")
    print(json.dumps({key: result[key] for key in keys}, indent=2))
    return 0
