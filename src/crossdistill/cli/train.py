"""``crossdistill train``: train the intent module with the supervised loss plus distillation terms."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an SLU student's intent module (vanilla or with any distillation policy)",
        description="Loads a YAML config (see configs/) and applies key=value overrides, e.g. "
        "`crossdistill train --config configs/table1/dropout_triangular.yaml corpus=DIR acoustic=DIR "
        "teacher_cache=DIR out=runs/x epochs=10`. Re-running the same command resumes from the last checkpoint.",
    )
    parser.add_argument("--config", type=Path, help="YAML config file")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides (omegaconf dot-list)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.train.config import load_train_config
    from crossdistill.train.run import train_intent

    config = load_train_config(args.config, args.overrides)
    metrics = train_intent(config)
    if metrics:
        summary = {k: metrics[k] for k in ("policy", "selected_epoch", "valid_error", "test_error", "last_test_error")}
        print(json.dumps(summary))
    return 0
