"""``crossdistill asr benchmark table1 --out DIR [--seeds 0,1,2] [--jobs N] [--preset P] [key=value ...]``: paper 001's
Table 1 over seeds.

Builds (or reuses) the corpus, its units folder, the senone, phone and subword LMs and their frame-wise posterior
caches under OUT, trains the hybrid AM for the baseline and every subset of the three LMs (paper 001 eq. 4, one
auxiliary head per LM; configs/asr/hybrid/<cell>.yaml) for every seed, decodes each run's test split to WER (lexicon +
trigram word LM; LM weight and word score tuned on dev), and writes OUT/report.md with wer.png and frame_accuracy.png
(``crossdistill.experiments.asr.table1``). Every stage resumes: give the same command again after an interruption.
"""

from __future__ import annotations

import argparse

from crossdistill.cli.asr.benchmark_arguments import add_shared_arguments, setup_from_arguments
from crossdistill.cli.grid import parse_seeds


def register(benchmarks: argparse._SubParsersAction) -> None:
    from crossdistill.experiments.asr.table1 import CELLS, DEFAULT_SEEDS, Table1Settings

    defaults = Table1Settings()  # the calibrated default grid
    decode = defaults.decode
    parser = benchmarks.add_parser(
        "table1",
        help="the hybrid AM: the baseline and every subset of the senone, phone and subword LMs (eq. 4) over seeds",
        description=__doc__.split("\n\n", 1)[1].replace("\n", " "),
    )
    add_shared_arguments(parser, defaults.setup, DEFAULT_SEEDS, defaults.train_overrides,
                         "crossdistill.train.asr.hybrid_config", "setting of every LM teacher")  # fmt: skip
    parser.add_argument(
        "--cells", default=",".join(CELLS), help=f"comma-separated cells (default all eight: {','.join(CELLS)})"
    )
    parser.add_argument("--no-tune", action="store_true", help="decode with the decoder's default weights")
    parser.add_argument(
        "--lm-weights",
        type=float,
        nargs="+",
        default=list(decode.lm_weights),
        help=f"LM weights tried on dev (default {' '.join(map(str, decode.lm_weights))})",
    )
    parser.add_argument(
        "--word-scores",
        type=float,
        nargs="+",
        default=list(decode.word_scores),
        help=f"word scores tried on dev (default {' '.join(map(str, decode.word_scores))})",
    )
    parser.add_argument("--beam", type=int, default=decode.beam, help=f"decoding beam (default {decode.beam})")
    parser.set_defaults(handler=run)


def parse_cells(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def run(args: argparse.Namespace) -> int:
    from crossdistill.experiments.asr.table1 import DecodeSettings, Table1Settings, run_table1

    defaults = Table1Settings()
    settings = Table1Settings(
        setup=setup_from_arguments(args, defaults.setup),
        cells=parse_cells(args.cells),
        seeds=tuple(parse_seeds(args.seeds)),
        train_overrides=(*defaults.train_overrides, *args.overrides),
        decode=DecodeSettings(
            tune=not args.no_tune,
            lm_weights=tuple(args.lm_weights),
            word_scores=tuple(args.word_scores),
            beam=args.beam,
        ),
    )
    print(run_table1(args.out, settings))
    return 0
