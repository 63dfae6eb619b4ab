"""``crossdistill asr train --config FILE [KEY=VALUE ...]``: train one of paper 001's acoustic models.

The config's top-level ``recipe`` picks the training module ``crossdistill.train.asr.<recipe>`` (``hybrid``: the
DNN-HMM AM with auxiliary KD heads, configs/asr/hybrid/*.yaml; ``seq2seq``: issue 13). Every recipe module
exposes the same two entry points, which this command calls in turn:

    load_config(path: str | Path | None, overrides: list[str] | None) -> omegaconf.DictConfig
    train(config: omegaconf.DictConfig) -> dict[str, Any]   # the metrics written to <out>/metrics.json

``load_config`` raises ValueError/FileNotFoundError naming the file or key before anything is written; ``train``
checks its inputs, then trains, resumes a killed run or returns a finished one unchanged (see
``crossdistill.train.asr``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train an acoustic model (hybrid AM with auxiliary KD heads, or seq2seq) from a YAML config",
        description="Reads FILE (a top-level `recipe:` picks the training recipe; configs/asr/hybrid/ holds one file "
        "per Table 1 cell) plus KEY=VALUE overrides (omegaconf dot-list), checks every input, and trains. Rerunning "
        "the same command resumes a killed run exactly; a finished run is left as it is. Example: `crossdistill asr "
        "train --config configs/asr/hybrid/all.yaml corpus=C units=U lms=LMS out=RUN threads=1`.",
    )
    parser.add_argument("--config", type=Path, required=True, help="YAML config with a top-level `recipe:`")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides (omegaconf dot-list)")
    parser.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    from crossdistill.train.asr.recipes import run_recipe

    metrics = run_recipe(args.config, list(args.overrides))
    if metrics:
        keys = ("recipe", "distill", "selected_epoch", "dev_frame_accuracy", "test_frame_accuracy",
                "extra_test_frame_accuracy", "seconds")  # fmt: skip
        print(json.dumps({key: metrics[key] for key in keys if key in metrics}))
    return 0
