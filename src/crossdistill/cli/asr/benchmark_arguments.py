"""The arguments every paper-001 benchmark shares (``table1``, ``fig3``): where the run goes, the seeds, the shared
inputs (corpus, units, LM teachers: ``crossdistill.experiments.asr.setup.AsrSetupSettings``), processes and threads,
and ``key=value`` settings of every run. Each benchmark's calibrated defaults come in as ``setup`` and
``train_overrides``; the user's ``--lm`` and ``KEY=VALUE`` settings are added after them (the later value wins)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from crossdistill.experiments.asr.setup import AsrSetupSettings


def add_shared_arguments(
    parser: argparse.ArgumentParser,
    setup: AsrSetupSettings,
    seeds: Sequence[int],
    train_overrides: Sequence[str],
    config_module: str,
    lm_help: str,
) -> None:
    """``--out --seeds --preset --corpus --senones --subwords --min-leaf-frames --lm --jobs --threads KEY=VALUE``."""
    parser.add_argument("--out", type=Path, required=True, help="output folder (every stage resumes from it)")
    parser.add_argument("--seeds", default=",".join(map(str, seeds)),
                        help=f"comma-separated seeds (default {','.join(map(str, seeds))})")  # fmt: skip
    parser.add_argument("--preset", help=f"corpus preset (default {setup.preset})")
    parser.add_argument("--corpus", type=Path, help="an existing corpus folder (with alignments) instead of --preset")
    parser.add_argument("--senones", type=int, default=setup.senones,
                        help=f"senone tree leaves of the units folder (default {setup.senones})")  # fmt: skip
    parser.add_argument("--subwords", type=int, default=setup.subwords,
                        help=f"sentencepiece vocabulary of the units folder (default {setup.subwords})")  # fmt: skip
    parser.add_argument("--min-leaf-frames", type=int, default=setup.min_leaf_frames,
                        help=f"fewest training frames per senone (default {setup.min_leaf_frames})")  # fmt: skip
    after = f"; added after the calibrated {' '.join(setup.lm_overrides)}" if setup.lm_overrides else ""
    parser.add_argument("--lm", action="append", default=[], metavar="KEY=VALUE",
                        help=f"{lm_help} (crossdistill asr lm train), repeatable, e.g. --lm epochs=5"
                        f"{after}")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=setup.jobs,
                        help=f"runs (and synthesis workers, LM trainings) at once (default {setup.jobs})")  # fmt: skip
    parser.add_argument("--threads", type=int, default=setup.threads,
                        help=f"torch threads per run (default {setup.threads})")  # fmt: skip
    after = f"; added after the calibrated {' '.join(train_overrides)}" if train_overrides else ""
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help=f"settings of every run ({config_module}), e.g. epochs=20{after}")  # fmt: skip


def setup_from_arguments(args: argparse.Namespace, defaults: AsrSetupSettings) -> AsrSetupSettings:
    """The shared inputs the arguments ask for (the calibrated LM settings first, then ``--lm``). A ``--corpus`` run
    records no preset, so its settings name the corpus actually read."""
    if args.preset is not None and args.corpus is not None:
        raise ValueError(f"give --preset ({args.preset}) or --corpus ({args.corpus}), not both")
    return replace(
        defaults,
        preset=None if args.corpus is not None else args.preset or defaults.preset,
        corpus=None if args.corpus is None else str(args.corpus),
        senones=args.senones,
        subwords=args.subwords,
        min_leaf_frames=args.min_leaf_frames,
        lm_overrides=(*defaults.lm_overrides, *args.lm),
        jobs=args.jobs,
        threads=args.threads,
    )
