"""``crossdistill pretrain``: pre-train the student's acoustic module on frame-wise phoneme and word targets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pretrain",
        help="pre-train the acoustic module (SincNet/log-mel + phoneme and word GRUs) on alignments",
        description="Trains the acoustic module of the SLU student (Lugosch et al. 2019) on frame-wise phoneme "
        "and word targets made from the corpus alignments, keeps the epoch with the lowest validation loss, "
        "writes the module (model.safetensors, config.json, vocab.json) and metrics.json (frame accuracies on "
        "valid and test) to --out. Running the same command again resumes from the last finished epoch, exactly as if "
        "the run had not stopped; a finished run is left as it is.",
    )
    from crossdistill.students.frontends import FRONTENDS
    from crossdistill.students.presets import PRESETS
    from crossdistill.train.pretrain_options import PretrainOptions as defaults  # the one definition of the defaults

    parser.add_argument("--corpus", type=Path, required=True, help="corpus root in the FSC layout, with alignments")
    parser.add_argument("--out", type=Path, required=True, help="output folder (module, metrics, checkpoints, logs)")
    parser.add_argument(
        "--preset", default=defaults.preset, help=f"student size: {', '.join(PRESETS)} (default %(default)s)"
    )
    parser.add_argument(
        "--frontend",
        default=defaults.frontend,
        choices=FRONTENDS,
        help="front end (default %(default)s; paper 000's backbone uses sincnet, see docs/student.md)",
    )
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="training epochs (default %(default)s)")
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="utterances per batch (default %(default)s)"
    )
    parser.add_argument(
        "--lr", type=float, default=defaults.lr, help="Adam learning rate (default %(default)s, as Lugosch)"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default %(default)s)")
    parser.add_argument("--max-utterances", type=int, help="use at most N utterances per split (seeded subset)")
    parser.add_argument(
        "--num-workers",
        type=int,
        default=defaults.num_workers,
        help="DataLoader worker processes (default %(default)s)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="log-mel feature cache root (default $CROSSDISTILL_CACHE or ~/.cache/crossdistill)",
    )
    parser.add_argument(
        "--accelerator",
        default=defaults.accelerator,
        help="Lightning accelerator: auto, cpu, gpu (default %(default)s)",
    )
    parser.add_argument(
        "--threads", type=int, help="PyTorch CPU threads (default: one per core; 1 helps on a busy shared machine)"
    )
    parser.add_argument(
        "--specaugment",
        action="store_true",
        help="SpecAugment on the training batches' log-mels (not in paper 000; docs/training.md)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.set_defaults(handler=run_pretrain)


def run_pretrain(args: argparse.Namespace) -> int:
    from crossdistill.train.pretrain import PretrainOptions, pretrain_acoustic

    if not args.corpus.is_dir():
        raise FileNotFoundError(f"--corpus {args.corpus} is not a folder")
    options = PretrainOptions(
        corpus=str(args.corpus),
        out=str(args.out),
        preset=args.preset,
        frontend=args.frontend,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        max_utterances=args.max_utterances,
        num_workers=args.num_workers,
        cache_dir=str(args.cache_dir) if args.cache_dir else None,
        accelerator=args.accelerator,
        progress=not args.quiet,
        threads=args.threads,
        specaugment=args.specaugment,
    )
    metrics = pretrain_acoustic(options)
    if metrics:
        summary = {split: metrics[split] for split in ("valid", "test")}
        print(json.dumps({"out": str(args.out), **summary}, indent=2, sort_keys=True))
    return 0
