"""``crossdistill asr data ...``: synthesize paper 001's speech corpus, check a corpus, compute its features."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    from crossdistill.cli.engine_arguments import add_engines_argument, add_held_out_engine_argument
    from crossdistill.data.asr.synth import SPLIT_KINDS
    from crossdistill.data.splits import DEFAULT_SPLIT

    parser = commands.add_parser("data", help="LibriSpeech-layout corpora: synthesize, check, compute features")
    sub = parser.add_subparsers(dest="asr_data_command", metavar="SUBCOMMAND", required=True)

    synth = sub.add_parser(
        "synth",
        help="synthesize the built-in speech corpus (eSpeak NG voices; --engines adds flite, festival) in the "
        "LibriSpeech layout",
        description="Writes DIR/{train,dev,test}/<speaker>/<chapter>/ (flac + trans.txt), lm/text.txt, "
        "lm/valid.txt, lexicon.txt, alignments/{split}.{words,phones}.ctm and corpus.json. Same options and "
        "seed give byte-identical files; rerunning a killed run finishes it.",
    )
    synth.add_argument("--out", type=Path, required=True, help="output folder (new, empty, or an unfinished run)")
    synth.add_argument("--preset", default="tiny", help="tiny (tests), small (demo) or default (default: tiny)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    synth.add_argument("--jobs", type=int, default=1, help="worker processes; 0 = all cores (default 1)")
    synth.add_argument("--text-source", choices=("sample", "debian"), help="override the preset's text source")
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    add_engines_argument(synth)
    synth.add_argument(
        "--split",
        choices=SPLIT_KINDS,
        default=DEFAULT_SPLIT,
        help="random: speaker- and voice-disjoint train/dev/test (default); unseen-engine: also a second test set, "
        "test_unseen_engine, of the --held-out-engine's speakers reading test's sentences, an engine train/dev/test "
        "never use (docs/data.md)",
    )
    add_held_out_engine_argument(synth)
    synth.set_defaults(handler=run_synth)

    info = sub.add_parser(
        "info",
        help="validate a corpus (real LibriSpeech or synthetic) and print a JSON summary",
        description="Reads and checks every split, the lexicon, LM text and alignments; any problem is an error "
        "naming the file and line. Nothing is written.",
    )
    add_corpus_arguments(info)
    info.add_argument("--decode", action="store_true", help="also decode every audio file (finds truncated files)")
    info.set_defaults(handler=run_info)

    features = sub.add_parser(
        "features",
        help="compute and cache the 80-dim log-mel features of a corpus",
        description="Cached under CACHE_DIR/asr-fbank/<key>, keyed by the corpus's audio and the settings.",
    )
    add_corpus_arguments(features)
    features.add_argument("--num-mel-bins", type=int, default=80, help="mel bins (default 80, paper 001)")
    features.add_argument(
        "--cache-dir", type=Path, help="cache root (default $CROSSDISTILL_CACHE or ~/.cache/crossdistill)"
    )
    features.set_defaults(handler=run_features)


def add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that locate a corpus and its side files (``load_asr_corpus``'s arguments)."""
    parser.add_argument("root", type=Path, help="corpus root (LibriSpeech/ or a synthetic corpus)")
    parser.add_argument("--splits", nargs="+", help="split folders to read (default: every known one present)")
    parser.add_argument("--lexicon", type=Path, help="lexicon (default: ROOT/lexicon.txt or librispeech-lexicon.txt)")
    parser.add_argument("--lm-text", type=Path, help="LM training text (default: ROOT/lm/text.txt)")
    parser.add_argument("--lm-valid", type=Path, help="held-out LM text (default: ROOT/lm/valid.txt)")
    parser.add_argument("--alignments", type=Path, help="CTM or TextGrid folder (default: ROOT/alignments)")
    parser.add_argument("--allow-oov", action="store_true", help="accept transcript words missing from the lexicon")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def load_corpus_from_args(args: argparse.Namespace):
    """Load and validate the corpus the options of ``add_corpus_arguments`` name."""
    from crossdistill.data.asr.librispeech import load_asr_corpus

    return load_asr_corpus(
        args.root,
        splits=args.splits,
        lexicon=args.lexicon,
        lm_text=args.lm_text,
        lm_valid=args.lm_valid,
        alignments=args.alignments,
        allow_oov=args.allow_oov,
        progress=not args.quiet,
    )


def run_synth(args: argparse.Namespace) -> int:
    from crossdistill.data.asr.librispeech import load_asr_corpus
    from crossdistill.data.asr.summary import summarize_corpus
    from crossdistill.data.asr.synth import synthesize_asr_corpus

    out = synthesize_asr_corpus(
        args.out, preset=args.preset, seed=args.seed, jobs=args.jobs, text_source=args.text_source,
        progress=not args.quiet, engines=args.engines, split=args.split, held_out_engine=args.held_out_engine,
    )  # fmt: skip
    print(json.dumps(summarize_corpus(load_asr_corpus(out, progress=not args.quiet)), indent=1))
    return 0


def run_info(args: argparse.Namespace) -> int:
    from crossdistill.data.asr.summary import decode_all, summarize_corpus

    corpus = load_corpus_from_args(args)
    if args.decode:
        decode_all(corpus, progress=not args.quiet)
    print(json.dumps(summarize_corpus(corpus), indent=1))
    return 0


def run_features(args: argparse.Namespace) -> int:
    from crossdistill.data.asr.features import FbankSettings, feature_cache_dir, load_or_compute_fbank

    settings = FbankSettings(num_mel_bins=args.num_mel_bins)
    corpus = load_corpus_from_args(args)
    packed = load_or_compute_fbank(corpus, settings, args.cache_dir, progress=not args.quiet)
    summary = {
        "cache": str(feature_cache_dir(corpus, settings, args.cache_dir)),
        "num_mel_bins": settings.num_mel_bins,
        "utterances": {split: len(p) for split, p in packed.items()},
        "frames": {split: int(p.offsets[-1]) for split, p in packed.items()},
    }
    print(json.dumps(summary, indent=1))
    return 0
