"""``crossdistill engine-study``: the vanilla student's in-domain and held-out-engine error per training setting."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossdistill.cli.grid import parse_seeds
from crossdistill.experiments.benchmark import GRID_CONFIG
from crossdistill.experiments.setup import SetupSettings


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
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds of the vanilla student (default 0,1,2)")
    parser.add_argument(
        "--grid",
        type=Path,
        default=GRID_CONFIG,
        help="grid config whose base and vanilla cell the student runs use (default configs/grid/table1.yaml)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes at once (default 2)")
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        default=SetupSettings.pretrain_epochs,
        help="acoustic pre-training epochs (default %(default)s)",
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="training overrides for every vanilla run")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.engine_study import check_engine_study, run_engine_study

    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if not args.grid.is_file():
        raise FileNotFoundError(f"--grid {args.grid} does not exist")
    settings_names = tuple(part.strip() for part in args.settings.split(",") if part.strip())
    seeds = tuple(parse_seeds(args.seeds))
    check_engine_study(settings_names, args.held_out_engine, seeds)
    settings = SetupSettings(corpus_preset=args.preset, pretrain_epochs=args.pretrain_epochs, jobs=args.jobs)
    run_engine_study(args.out, settings, settings_names, args.held_out_engine, seeds, args.grid,
                     overrides=tuple(args.overrides))  # fmt: skip
    return 0
