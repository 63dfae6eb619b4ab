"""``crossdistill bench NAME``: speed and memory targets, printed as one JSON object measured in one run."""

from __future__ import annotations

import argparse
import importlib
import json

from crossdistill.cli import CommandError

# benchmark name -> module under crossdistill.experiments.benchmarks (the name with "-" as "_") exposing
# add_arguments(parser) and run(args)
BENCHMARKS = {
    "asr-data": "Paper 001's corpus: synthesis speed (x real time per core), fbank throughput, LM words, train hours.",
    "asr-train": "Paper 001's hybrid AM: training frames/s without and with the three KD heads, and the overhead.",
    "confidence": "Vectorized dropout confidence D against a per-sample, per-mask loop.",
    "data": "Speech synthesis speed (x real time) and feature extraction throughput.",
    "numerics": "The same seeded training under each of PyTorch's CPU code paths: what another CPU would change.",
    "seq2seq": "Paper 001's seq2seq model: training utterances/s per objective (LST, KD head overheads), decoding RTF.",
    "lm": "Paper 001's LM teachers: training units/s per unit, posterior-cache build time per audio hour and size.",
    "teacher": "Text teacher throughput and teacher-cache build time (unique transcripts vs every utterance).",
    "train": "Intent-module training throughput, vanilla vs KD, and the KD step overhead.",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print one JSON object")
    names = parser.add_subparsers(dest="benchmark", metavar="NAME", required=True)
    for name, help_text in BENCHMARKS.items():
        sub = names.add_parser(name, help=help_text, description=help_text)
        module = _load(name)
        if module is not None:
            module.add_arguments(sub)
        sub.set_defaults(handler=_run, bench_module=name)


def _load(name: str):
    try:
        module = f"crossdistill.experiments.benchmarks.{name.replace('-', '_')}"
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name == module:
            return None
        raise


def _run(args: argparse.Namespace) -> int:
    module = _load(args.bench_module)
    if module is None:
        raise CommandError(f"benchmark {args.bench_module!r} is not available in this build")
    print(json.dumps(module.run(args), indent=2, sort_keys=True))
    return 0
