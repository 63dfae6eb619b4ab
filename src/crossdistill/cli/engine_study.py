"""``crossdistill engine-study``: the vanilla student's in-domain and held-out-engine error per training setting."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossdistill.cli.study_arguments import add_vanilla_study_arguments, vanilla_study_inputs


def register(subparsers: argparse._SubParsersAction) -> None:
    from crossdistill.experiments.engine_study import DEFAULT_HELD_OUT, SETTINGS

    parser = subparsers.add_parser(
        "engine-study",
        help="the vanilla student on a synthesis engine it never heard, per training setting (docs/data.md)",
        description="For each --settings entry (espeak: training hears eSpeak alone; all: every engine but the held-"
        "out one; all+augment: that corpus through `data augment`): a corpus with --split unseen-engine, the "
        "benchmark's setup without a teacher under OUT/<setting>, the vanilla student over --seeds, scored on test "
        "and test_unseen_engine; writes OUT/engine_study.json and OUT/engine_study.md. Every stage resumes: give the "
        "same command again.",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/engine-study"), help="output folder")
    parser.add_argument("--preset", default="default", help="corpus preset (default: default)")
    parser.add_argument(
        "--held-out-engine", default=DEFAULT_HELD_OUT, help="engine only tested on (default %(default)s)"
    )
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated settings (default %(default)s)")
    add_vanilla_study_arguments(parser)
    parser.add_argument(
        "--augmented-pretrain-epochs",
        type=int,
        help="acoustic pre-training epochs of the all+augment setting, whose corpus is 4x larger (default: as "
        "--pretrain-epochs)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.engine_study import check_engine_study, run_engine_study

    settings, seeds = vanilla_study_inputs(args)
    settings_names = tuple(part.strip() for part in args.settings.split(",") if part.strip())
    check_engine_study(settings_names, args.held_out_engine, seeds, args.augmented_pretrain_epochs)
    run_engine_study(args.out, settings, settings_names, args.held_out_engine, seeds, args.grid,
                     tuple(args.overrides), args.augmented_pretrain_epochs)  # fmt: skip
    return 0
