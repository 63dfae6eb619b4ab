"""``crossdistill asr benchmark fig3 --out DIR [--seeds 0,1,2] [--lambdas ...]``: paper 001's Fig. 3 over seeds.

Builds (or reuses) the corpus, its units folder, the subword LM and its transcript cache under OUT, trains the
supervised baseline and LST (eq. 3, T = 5.0) and the multi-task head (eq. 4, T = 1.0) at every lambda for every seed,
and writes OUT/report.md with fig3.png and calibration.png (``crossdistill.experiments.asr.fig3``). Every stage
resumes: give the same command again after an interruption.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crossdistill.cli.grid import parse_seeds


def register(benchmarks: argparse._SubParsersAction) -> None:
    from crossdistill.experiments.asr.fig3 import DEFAULT_LAMBDAS, DEFAULT_SEEDS, Fig3Settings

    defaults = Fig3Settings()
    parser = benchmarks.add_parser(
        "fig3",
        help="the seq2seq model: baseline, LST (eq. 3) and the multi-task head (eq. 4) over lambda and seeds",
        description=__doc__.split("\n\n", 1)[1].replace("\n", " "),
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (every stage resumes from it)")
    parser.add_argument(
        "--seeds",
        default=",".join(map(str, DEFAULT_SEEDS)),
        help=f"comma-separated seeds (default {','.join(map(str, DEFAULT_SEEDS))})",
    )
    parser.add_argument(
        "--lambdas",
        default=",".join(f"{w:g}" for w in DEFAULT_LAMBDAS),
        help=f"comma-separated lambdas in [0, 1] (default {','.join(f'{w:g}' for w in DEFAULT_LAMBDAS)})",
    )
    parser.add_argument("--preset", default=defaults.preset, help=f"corpus preset (default {defaults.preset})")
    parser.add_argument("--corpus", type=Path, help="an existing corpus folder instead of synthesizing one")
    parser.add_argument(
        "--subwords",
        type=int,
        default=defaults.subwords,
        help=f"sentencepiece vocabulary of the units folder (default {defaults.subwords})",
    )
    parser.add_argument(
        "--senones",
        type=int,
        default=defaults.senones,
        help=f"senone tree leaves of the units folder (default {defaults.senones})",
    )
    parser.add_argument(
        "--lm",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="subword LM setting (crossdistill asr lm train), repeatable, e.g. --lm epochs=5",
    )
    parser.add_argument("--jobs", type=int, default=defaults.jobs, help=f"runs at once (default {defaults.jobs})")
    parser.add_argument(
        "--threads", type=int, default=defaults.threads, help=f"torch threads per run (default {defaults.threads})"
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="settings of every run (crossdistill.train.asr.seq2seq_config), e.g. epochs=20",
    )
    parser.set_defaults(handler=run)


def parse_lambdas(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--lambdas must be comma-separated numbers, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.asr.fig3 import Fig3Settings, run_fig3

    settings = Fig3Settings(
        preset=args.preset,
        corpus=None if args.corpus is None else str(args.corpus),
        subwords=args.subwords,
        senones=args.senones,
        lm_overrides=tuple(args.lm),
        seeds=tuple(parse_seeds(args.seeds)),
        lambdas=parse_lambdas(args.lambdas),
        train_overrides=tuple(args.overrides),
        jobs=args.jobs,
        threads=args.threads,
    )
    print(run_fig3(args.out, settings))
    return 0
