"""``crossdistill asr engine-study --out DIR [--settings espeak,all,all+augment] [--held-out-engine festival]
[--seeds 0,1,2] [--augmented-epochs N] [KEY=VALUE ...]``: paper 001's hybrid baseline on a synthesis engine it never
heard.

For each setting (espeak: training hears eSpeak alone; all: every engine but the held-out one; all+augment: that
corpus through `data augment`) a corpus with --split unseen-engine under OUT/corpora, then Table 1's baseline cell
(no LM distillation) over --seeds under OUT/<setting>, each run decoded on test (LM weight and word score tuned on dev)
and on test_unseen_engine (with the same weights); writes OUT/asr_engine_study.json and .md
(``crossdistill.experiments.asr.engine_study``). Every stage resumes: give the same command again.
"""

from __future__ import annotations

import argparse

from crossdistill.cli.asr.benchmark_arguments import add_shared_arguments, setup_from_arguments
from crossdistill.cli.grid import parse_seeds


def register(commands: argparse._SubParsersAction) -> None:
    from crossdistill.experiments.asr.engine_study import AsrEngineStudySettings
    from crossdistill.experiments.engine_study import SETTINGS

    defaults = AsrEngineStudySettings()
    parser = commands.add_parser(
        "engine-study",
        help="the hybrid baseline's WER on test and on a synthesis engine it never heard, per training setting "
        "(docs/data.md)",
        description=__doc__.split("\n\n", 1)[1].replace("\n", " "),
    )
    add_shared_arguments(parser, defaults.setup, defaults.seeds, defaults.train_overrides,
                         "crossdistill.train.asr.hybrid_config", "not used: the baseline distils no LM")  # fmt: skip
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated settings (default %(default)s)")
    parser.add_argument("--held-out-engine", default=defaults.held_out_engine,
                        help="engine only tested on (default %(default)s)")  # fmt: skip
    parser.add_argument("--augmented-epochs", type=int,
                        help="training epochs of the all+augment runs, whose corpus is 4x larger (default: as the "
                        "others)")  # fmt: skip
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.asr.engine_study import AsrEngineStudySettings, run_asr_engine_study

    defaults = AsrEngineStudySettings()
    settings = AsrEngineStudySettings(
        setup=setup_from_arguments(args, defaults.setup),
        settings=tuple(part.strip() for part in args.settings.split(",") if part.strip()),
        held_out_engine=args.held_out_engine,
        seeds=tuple(parse_seeds(args.seeds)),
        train_overrides=(*defaults.train_overrides, *args.overrides),
        augmented_epochs=args.augmented_epochs,
    )
    run_asr_engine_study(args.out, settings)
    return 0
