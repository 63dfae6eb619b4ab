"""``crossdistill asr benchmark fig3 --out DIR [--seeds 0,1,2] [--lambdas ...]``: paper 001's Fig. 3 over seeds.

Builds (or reuses) the corpus, its units folder, the subword LM and its transcript cache under OUT, trains the
supervised baseline and LST (eq. 3, T = 5.0) and the multi-task head (eq. 4, T = 1.0) at every lambda for every seed,
and writes OUT/report.md with fig3.png and calibration.png (``crossdistill.experiments.asr.fig3``). Every stage
resumes: give the same command again after an interruption.
"""

from __future__ import annotations

import argparse

from crossdistill.cli.asr.benchmark_arguments import add_shared_arguments, setup_from_arguments
from crossdistill.cli.grid import parse_seeds


def register(benchmarks: argparse._SubParsersAction) -> None:
    from crossdistill.experiments.asr.fig3 import DEFAULT_LAMBDAS, DEFAULT_SEEDS, Fig3Settings

    defaults = Fig3Settings()
    parser = benchmarks.add_parser(
        "fig3",
        help="the seq2seq model: baseline, LST (eq. 3) and the multi-task head (eq. 4) over lambda and seeds",
        description=__doc__.split("\n\n", 1)[1].replace("\n", " "),
    )
    add_shared_arguments(parser, defaults.setup, DEFAULT_SEEDS, defaults.train_overrides,
                         "crossdistill.train.asr.seq2seq_config", "subword LM setting")  # fmt: skip
    parser.add_argument(
        "--lambdas",
        default=",".join(f"{w:g}" for w in DEFAULT_LAMBDAS),
        help=f"comma-separated lambdas in [0, 1] (default {','.join(f'{w:g}' for w in DEFAULT_LAMBDAS)})",
    )
    parser.set_defaults(handler=run)


def parse_lambdas(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--lambdas must be comma-separated numbers, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.asr.fig3 import Fig3Settings, run_fig3

    defaults = Fig3Settings()
    settings = Fig3Settings(
        setup=setup_from_arguments(args, defaults.setup),
        seeds=tuple(parse_seeds(args.seeds)),
        lambdas=parse_lambdas(args.lambdas),
        train_overrides=(*defaults.train_overrides, *args.overrides),
    )
    print(run_fig3(args.out, settings))
    return 0
