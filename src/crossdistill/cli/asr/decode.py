"""``crossdistill asr decode --model RUN --corpus DIR [--split NAME]``: decode a split with a trained acoustic model
and score its WER (jiwer: substitutions, deletions, insertions); prints the report and writes it beside the model.

The model folder's ``recipe`` (its ``model/config.json``, written by ``crossdistill asr train``) picks the decoder:

- ``hybrid``: ``crossdistill.train.asr.hybrid_decoding.decode.decode_hybrid`` (lexicon + trigram word LM search over
  the senone scores; the hybrid options below);
- ``seq2seq``: ``crossdistill.train.asr.seq2seq_decode.decode`` (beam search with length normalization over the
  supervised head; ``--beam``, ``--length-penalty``, ``--max-tokens``, ``--ctc-weight``).

An option that only the other recipe reads is an error naming it, before anything is decoded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crossdistill.cli import CommandError

MODEL_SUBDIR = "model"
CONFIG_FILE = "config.json"
# Options read by one recipe only (argparse destinations); the others (model, corpus, split, beam, batch_size,
# threads, features_cache, quiet) serve both.
HYBRID_ONLY = (
    "beam_tokens",
    "beam_threshold",
    "lm_weight",
    "word_score",
    "sil_score",
    "prior_scale",
    "lm",
    "no_lm",
    "prune",
    "lexicon",
    "variants_from",
    "no_variants",
    "tune_split",
    "lm_weights",
    "word_scores",
    "lm_cache",
    "units",
)
SEQ2SEQ_ONLY = ("length_penalty", "max_tokens", "ctc_weight")


def register(commands: argparse._SubParsersAction) -> None:
    from crossdistill.train.asr.hybrid_decoding.options import DEFAULT_DECODE, DEFAULT_SEARCH

    parser = commands.add_parser(
        "decode",
        help="decode a corpus split with a trained acoustic model (hybrid or seq2seq) and score its WER",
        description="Decodes SPLIT of CORPUS with the model of a finished `crossdistill asr train` run and prints its "
        "WER with substitutions, deletions and insertions (also written under RUN/decode/, with every utterance's "
        "hypothesis). The run's recipe picks the decoder: a hybrid AM searches a lexicon and a trigram word LM, a "
        "seq2seq model runs beam search with length normalization.",
    )
    parser.add_argument(
        "--model", type=Path, required=True, help="run folder of `crossdistill asr train` (or its model/)"
    )
    parser.add_argument("--corpus", type=Path, required=True, help="corpus folder in the LibriSpeech layout")
    parser.add_argument("--split", help=f"split to decode and report (default {DEFAULT_DECODE.split})")
    parser.add_argument(
        "--beam", type=int, help=f"beam size (hybrid default {DEFAULT_SEARCH.beam}; seq2seq: the run's)"
    )
    parser.add_argument("--batch-size", type=int, help="utterances per model forward (default: the recipe's)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--features-cache", type=Path, help="root of the fbank cache (default $CROSSDISTILL_CACHE)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")

    hybrid = parser.add_argument_group("hybrid AM only")
    hybrid.add_argument(
        "--beam-tokens", type=int, help=f"tokens tried per frame (default {DEFAULT_SEARCH.beam_tokens or 'all'})"
    )
    hybrid.add_argument(
        "--beam-threshold",
        type=float,
        help=f"score distance below the best that is pruned (default {DEFAULT_SEARCH.beam_threshold})",
    )
    hybrid.add_argument("--lm-weight", type=float, help=f"word LM weight (default {DEFAULT_SEARCH.lm_weight})")
    hybrid.add_argument("--word-score", type=float, help=f"score added per word (default {DEFAULT_SEARCH.word_score})")
    hybrid.add_argument("--sil-score", type=float, help=f"score per silence frame (default {DEFAULT_SEARCH.sil_score})")
    hybrid.add_argument(
        "--prior-scale",
        type=float,
        help=f"exponent of the senone-prior division (default {DEFAULT_DECODE.prior_scale})",
    )
    hybrid.add_argument("--lm", type=Path, help="word LM file (ARPA or KenLM binary) instead of building one")
    hybrid.add_argument("--no-lm", action="store_true", help="decode with the lexicon alone")
    hybrid.add_argument(
        "--prune",
        type=int,
        nargs="+",
        help="lmplz --prune thresholds of the built word LM (default "
        f"{' '.join(map(str, DEFAULT_DECODE.word_lm.prune))})",
    )
    hybrid.add_argument("--lexicon", type=Path, help="lexicon file instead of the corpus's lexicon.txt")
    hybrid.add_argument(
        "--variants-from",
        help="split whose alignments teach pronunciation variants (default "
        f"{DEFAULT_DECODE.variants_from}; used when the corpus has its alignments)",
    )
    hybrid.add_argument("--no-variants", action="store_true", help="the lexicon's pronunciations only")
    hybrid.add_argument(
        "--tune-split", help="dev split on which --lm-weights x --word-scores are tuned (default: none)"
    )
    hybrid.add_argument(
        "--lm-weights",
        type=float,
        nargs="+",
        help=f"LM weights tried when tuning (default {' '.join(map(str, DEFAULT_DECODE.lm_weights))})",
    )
    hybrid.add_argument(
        "--word-scores",
        type=float,
        nargs="+",
        help=f"word scores tried when tuning (default {' '.join(map(str, DEFAULT_DECODE.word_scores))})",
    )
    hybrid.add_argument("--lm-cache", type=Path, help="root of the word-LM cache (default $CROSSDISTILL_CACHE)")
    hybrid.add_argument("--units", type=Path, help="units folder (default: the one recorded with the model)")

    seq2seq = parser.add_argument_group("seq2seq model only")
    seq2seq.add_argument(
        "--length-penalty",
        type=float,
        help="alpha of the length normalization log P(y) / |y|^alpha (default: the run's)",
    )
    seq2seq.add_argument("--max-tokens", type=int, help="most output tokens per utterance (default: the run's)")
    seq2seq.add_argument(
        "--ctc-weight", type=float, help="joint CTC/attention decoding weight in [0, 1) (default: the run's)"
    )
    parser.set_defaults(handler=run_decode)


def model_recipe(model: Path) -> str:
    """The ``recipe`` recorded in a model folder's config.json (the run folder's ``model/`` or the folder itself)."""
    folder = model / MODEL_SUBDIR if (model / MODEL_SUBDIR).is_dir() else model
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"--model {model}: no {CONFIG_FILE} (not a finished `crossdistill asr train` run)")
    try:
        recipe = json.loads(path.read_text(encoding="utf-8")).get("recipe")
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not recipe:
        raise ValueError(f"{path} records no recipe: not a model of `crossdistill asr train`")
    return str(recipe)


def _refuse_options(args: argparse.Namespace, names: tuple[str, ...], recipe: str) -> None:
    given = [name for name in names if getattr(args, name) not in (None, False)]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise CommandError(f"--model {args.model} is a {recipe} model: {flags} do(es) not apply to it")


def run_decode(args: argparse.Namespace) -> int:
    recipe = model_recipe(args.model)
    if recipe == "hybrid":
        from crossdistill.train.asr.hybrid_decoding.decode import decode_hybrid
        from crossdistill.train.asr.hybrid_decoding.options import decode_options_from_args

        _refuse_options(args, SEQ2SEQ_ONLY, recipe)
        report = decode_hybrid(args.model, args.corpus, decode_options_from_args(args), progress=not args.quiet)
    elif recipe == "seq2seq":
        from crossdistill.train.asr.seq2seq_decode import decode

        _refuse_options(args, HYBRID_ONLY, recipe)
        report = decode(
            model_dir=args.model,
            corpus_dir=args.corpus,
            split=args.split or "test",
            beam=args.beam,
            length_penalty=args.length_penalty,
            batch_size=args.batch_size,
            max_tokens=args.max_tokens,
            ctc_weight=args.ctc_weight,
            threads=args.threads,
            features_cache=args.features_cache,
            progress=not args.quiet,
        )
    else:
        raise CommandError(f"--model {args.model}: decoding {recipe!r} models is not available in this build")
    print(json.dumps(report, indent=2))
    return 0
