"""``crossdistill evaluate``: score a trained student on a corpus split (intent and slot errors, confusions)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a trained student on a corpus split (default: every test set): intent error, each slot's error, "
        "confusions of intents",
        description="Predicts every utterance of --split and writes <split>.json (errors, per-intent errors, every "
        "(true, predicted) pair's count) and <split>.md (tables) to --out; prints the errors as JSON.",
    )
    parser.add_argument("--model", type=Path, required=True, help="a run folder (crossdistill train) or its model/")
    parser.add_argument("--corpus", type=Path, required=True, help="corpus root in the FSC layout")
    parser.add_argument(
        "--split",
        help="train, valid, test or test_unseen_engine (default: every test set the corpus has: test, and "
        "test_unseen_engine in an unseen-engine corpus; the printed JSON is test's, with test_sets holding the errors "
        "of each)",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: <model>/evaluation)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.train.evaluate import evaluate_model, evaluate_test_sets

    keys = ("split", "utterances", "intent_error", "slot_errors", "written")
    if args.split is not None:
        result = evaluate_model(args.model, args.corpus, args.split, args.out)
        print(json.dumps({key: result[key] for key in keys}, indent=2))
        return 0
    results = evaluate_test_sets(args.model, args.corpus, args.out)
    printed = {key: results["test"][key] for key in keys}
    printed["test_sets"] = {split: {key: r[key] for key in keys[1:4]} for split, r in results.items()}
    print(json.dumps(printed, indent=2))
    return 0
