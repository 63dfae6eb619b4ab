"""``crossdistill teacher``: train the text teacher on a corpus's transcripts, and cache its outputs."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    # D's defaults have one definition, in the distillation core (torch is imported at startup anyway).
    from crossdistill.kd import DEFAULT_DROPOUT_SITE, DEFAULT_N_MASKS, DEFAULT_P, DROPOUT_SITES
    from crossdistill.teachers.text.training import DEFAULT_EPOCHS, DEFAULT_HEAD_LR_SCALE, DEFAULT_LR, TrainOptions

    def per_arch(defaults: dict) -> str:
        return ", ".join(f"{value:g} {arch}" for arch, value in defaults.items())

    parser = subparsers.add_parser("teacher", help="text teacher: fine-tune on transcripts, cache its outputs")
    commands = parser.add_subparsers(dest="teacher_command", metavar="SUBCOMMAND", required=True)

    train = commands.add_parser(
        "train",
        help="fine-tune the text teacher on a corpus's training transcripts",
        description="Trains on the unique (transcript, labels) pairs of the training split, keeps the epoch with "
        "the lowest valid text error, and writes teacher.json, model.safetensors, tokenizer/, metrics.json "
        "(train/valid/test text error) and train.log to --out.",
    )
    train.add_argument("--corpus", type=Path, required=True, help="corpus root in the FSC layout")
    train.add_argument(
        "--out",
        type=Path,
        required=True,
        help="teacher folder to write (new or empty; the same command again resumes an interrupted run and leaves a "
        "finished one as it is)",
    )
    train.add_argument(
        "--encoder",
        help="Hugging Face encoder: a local model folder, a hub name, or 'minilm' (the packaged all-MiniLM-L6-v2, "
        "default); never runs remote code",
    )
    train.add_argument(
        "--arch",
        choices=("transformer", "scratch"),
        default=TrainOptions.arch,
        help="'scratch': a small BiLSTM trained from random init (default: %(default)s)",
    )
    train.add_argument("--tokenizer", help="tokenizer folder or name (default: the encoder's; scratch: MiniLM's)")
    train.add_argument(
        "--heads",
        choices=("intent", "intent+slots"),
        default=TrainOptions.heads,
        help="classifier heads (default: %(default)s)",
    )
    train.add_argument("--epochs", type=int, help=f"epochs over the unique pairs (default: {per_arch(DEFAULT_EPOCHS)})")
    train.add_argument("--lr", type=float, help=f"learning rate (default: {per_arch(DEFAULT_LR)})")
    train.add_argument(
        "--head-lr-scale",
        type=float,
        help=f"dense layer and heads learn at lr x this (default: {per_arch(DEFAULT_HEAD_LR_SCALE)})",
    )
    train.add_argument(
        "--batch-size", type=int, default=TrainOptions.batch_size, help="unique pairs per step (default %(default)s)"
    )
    train.add_argument(
        "--weighting",
        choices=("unique", "count"),
        default=TrainOptions.weighting,
        help="loss weight of each unique pair: equal, or its utterance count (default %(default)s)",
    )
    train.add_argument(
        "--max-length",
        type=int,
        default=TrainOptions.max_length,
        help="word pieces per transcript (default %(default)s)",
    )
    train.add_argument("--seed", type=int, default=TrainOptions.seed, help="random seed (default %(default)s)")
    train.add_argument(
        "--threads", type=int, help="torch intra-op threads (default: torch's; 1 is often faster on a busy shared CPU)"
    )
    train.add_argument("--overwrite", action="store_true", help="replace an existing teacher folder at --out")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=run_train)

    cache = commands.add_parser(
        "cache",
        help="cache the teacher's logits, normalized entropy and dropout confidence for every utterance",
        description="Computed once per unique transcript and fanned out to utterances; keyed by the teacher "
        "weights and config, the options, the corpus label set and transcripts. Written atomically to "
        "<teacher>/cache/<key>/ (or --out); prints the folder as JSON.",
    )

    def add_cache_arguments(command: argparse.ArgumentParser) -> None:
        command.add_argument("--teacher", type=Path, required=True, help="teacher folder written by `teacher train`")
        command.add_argument("--corpus", type=Path, required=True, help="corpus root in the FSC layout")
        command.add_argument(
            "--n-masks",
            type=int,
            default=DEFAULT_N_MASKS,
            help="N, dropout masks for D (default %(default)s, the paper's)",
        )
        command.add_argument(
            "--p", type=float, default=DEFAULT_P, help="dropout rate p for D (default %(default)s, the paper's)"
        )
        command.add_argument(
            "--dropout-site",
            choices=DROPOUT_SITES,
            default=DEFAULT_DROPOUT_SITE,
            help="the reading of D, i.e. what the dropout drops (default %(default)s: T's centred logits, a function "
            "of T alone); see docs/distillation-core.md",
        )
        command.add_argument("--seed", type=int, default=0, help="seed of D's dropout masks (default 0)")
        command.add_argument("--batch-size", type=int, default=64, help="transcripts per teacher batch (default 64)")
        command.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")

    add_cache_arguments(cache)
    cache.add_argument("--out", type=Path, help="cache folder (default: <teacher>/cache/<key>)")
    cache.add_argument("--overwrite", action="store_true", help="replace a cache with another key at --out")
    cache.add_argument("--quiet", action="store_true", help="no progress bar")
    cache.set_defaults(handler=run_cache)

    diagnose = commands.add_parser(
        "diagnose",
        help="zero-training check of eq. 7b/7c's premise: do D and H_C flag training utterances whose label the "
        "teacher contradicts?",
        description="On the training split (the labels the students see, noisy ones included), the AUROC of D (eq. 4) "
        "and of H_C (eq. 3) for flagging utterances where the teacher's prediction differs from the label, and the "
        "mean lambda that recip(D) (7c) and recip(H_C) (7b) give agreeing and disagreeing utterances; with a "
        "label-noise record, the same for the relabelled utterances. Reads the teacher cache for these options "
        "(built first when missing: inference only). Writes confidence_diagnostic.json and .md to --out and prints "
        "the markdown.",
    )
    add_cache_arguments(diagnose)
    diagnose.add_argument("--cache", type=Path, help="cache folder (default: <teacher>/cache/<key>)")
    diagnose.add_argument("--out", type=Path, required=True, help="folder for confidence_diagnostic.{json,md}")
    diagnose.add_argument("--quiet", action="store_true", help="no progress bar")
    diagnose.set_defaults(handler=run_diagnose)


def _configure_logging() -> None:
    logger = logging.getLogger("crossdistill")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def run_train(args: argparse.Namespace) -> int:
    from crossdistill.data.corpus import load_corpus
    from crossdistill.teachers.text import TrainOptions, train_teacher

    _configure_logging()
    if args.arch == "scratch" and args.encoder is not None:
        raise ValueError("--encoder names a pretrained encoder; it cannot be combined with --arch scratch")
    options = TrainOptions(
        arch=args.arch,
        encoder=args.encoder or TrainOptions.encoder,
        tokenizer=args.tokenizer,
        heads=args.heads,
        epochs=args.epochs,
        lr=args.lr,
        head_lr_scale=args.head_lr_scale,
        batch_size=args.batch_size,
        weighting=args.weighting,
        max_length=args.max_length,
        seed=args.seed,
        threads=args.threads,
        progress=not args.quiet,
    )
    corpus = load_corpus(args.corpus, check_audio=False)  # the teacher reads transcripts only
    metrics = train_teacher(corpus, args.out, options, overwrite=args.overwrite)
    summary = {split: {k: v for k, v in r.items()} for split, r in metrics["splits"].items()}
    print(
        json.dumps(
            {"teacher": str(Path(args.out).absolute()), "selected_epoch": metrics["selected_epoch"], "splits": summary},
            indent=2,
        )
    )
    return 0


def _cache_for(args: argparse.Namespace, out: Path | None, overwrite: bool = False):
    """The corpus, the cache options and the folder of the teacher cache for the command's options (built when
    missing)."""
    from crossdistill.data.corpus import load_corpus
    from crossdistill.teachers.text import CacheOptions, build_teacher_cache
    from crossdistill.teachers.text.training import torch_threads

    _configure_logging()
    options = CacheOptions(n_masks=args.n_masks, p=args.p, seed=args.seed, dropout_site=args.dropout_site)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    corpus = load_corpus(args.corpus, check_audio=False)
    with torch_threads(args.threads):
        folder = build_teacher_cache(
            args.teacher,
            corpus,
            options,
            out=out,
            batch_size=args.batch_size,
            progress=not args.quiet,
            overwrite=overwrite,
        )
    return corpus, options, folder


def run_cache(args: argparse.Namespace) -> int:
    from crossdistill.teachers.text import TeacherCache

    _, _, folder = _cache_for(args, args.out, args.overwrite)
    cache = TeacherCache.load(folder)
    print(
        json.dumps(
            {
                "cache": str(folder),
                "key": cache.key,
                "utterances": len(cache),
                "unique_transcripts": len(cache.index["transcripts"]),
                "tensors": list(cache.names),
                "build_seconds": cache.index["build_seconds"],
            },
            indent=2,
        )
    )
    return 0


def run_diagnose(args: argparse.Namespace) -> int:
    from crossdistill.experiments.confidence_diagnostic import diagnose_confidence, render_diagnostic, write_diagnostic
    from crossdistill.teachers.text import TeacherCache
    from crossdistill.teachers.text.cache import compute_cache_key

    corpus, options, folder = _cache_for(args, args.cache)  # this key's cache, built when missing (inference only)
    cache = TeacherCache.load(folder, expected_key=compute_cache_key(args.teacher, corpus, options))
    result = diagnose_confidence(corpus, cache)
    json_path, _ = write_diagnostic(result, args.out)
    print(render_diagnostic(result))
    print(f"written to {json_path} and its .md")
    return 0
