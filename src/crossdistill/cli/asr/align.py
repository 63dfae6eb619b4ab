"""``crossdistill asr align --model RUN --corpus DIR --out OUT``: forced alignment with a trained hybrid AM.

Writes ``OUT/{split}.words.ctm`` and ``OUT/{split}.phones.ctm`` in the corpus contract's format (``load_asr_corpus(
DIR, alignments=OUT)`` reads them) and ``OUT/align.json``, and prints that report: per split, the phone-boundary
error against the corpus's own alignments when it has them (the synthetic corpus).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crossdistill.cli import CommandError


def register(commands: argparse._SubParsersAction) -> None:
    from crossdistill.train.asr.hybrid_decoding.options import DEFAULT_ALIGN

    parser = commands.add_parser(
        "align",
        help="forced alignment of a corpus with a trained hybrid AM (CTM words and phones)",
        description="Viterbi-aligns every transcript (lexicon phones with optional silence between words and at the "
        "edges, 3 HMM states per phone, triphone senones through the units' tree) to the hybrid AM's senone scores "
        "(posteriors divided by priors) and writes OUT/{split}.words.ctm, OUT/{split}.phones.ctm and OUT/align.json. "
        "Words missing from the lexicon are aligned as one SPN phone. Where the corpus has alignments of its own "
        "(the synthetic corpus), the report gives the phone-boundary error against them.",
    )
    parser.add_argument("--model", type=Path, required=True, help="run folder of `crossdistill asr train` (hybrid)")
    parser.add_argument("--corpus", type=Path, required=True, help="corpus folder in the LibriSpeech layout")
    parser.add_argument("--out", type=Path, required=True, help="folder for the CTM files (outside the corpus)")
    parser.add_argument("--splits", nargs="+", help="splits to align (default: all)")
    parser.add_argument(
        "--prior-scale",
        type=float,
        help=f"exponent of the senone-prior division, 0 = posteriors (default {DEFAULT_ALIGN.prior_scale})",
    )
    parser.add_argument("--lexicon", type=Path, help="lexicon file instead of the corpus's lexicon.txt")
    parser.add_argument(
        "--batch-size", type=int, help=f"utterances per AM forward (default {DEFAULT_ALIGN.batch_size})"
    )
    parser.add_argument("--threads", type=int, help=f"torch CPU threads (default {DEFAULT_ALIGN.threads})")
    parser.add_argument("--features-cache", type=Path, help="root of the fbank cache (default $CROSSDISTILL_CACHE)")
    parser.add_argument("--units", type=Path, help="units folder (default: the one recorded with the model)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run_align)


def run_align(args: argparse.Namespace) -> int:
    from crossdistill.cli.asr.decode import model_recipe
    from crossdistill.train.asr.hybrid_decoding.align import align_hybrid
    from crossdistill.train.asr.hybrid_decoding.options import align_options_from_args

    recipe = model_recipe(args.model)
    if recipe != "hybrid":
        raise CommandError(f"--model {args.model} is a {recipe} model; forced alignment needs a hybrid AM")
    report = align_hybrid(args.model, args.corpus, args.out, align_options_from_args(args), progress=not args.quiet)
    print(json.dumps(report, indent=2))
    return 0
