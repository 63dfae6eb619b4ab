"""``crossdistill asr units``: the senone, phone and subword inventories, frame labels and LM text of a corpus."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crossdistill.data.asr.units.options import UnitsOptions

_DEFAULTS = UnitsOptions()


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "units",
        help="senone tree, sentencepiece subwords, frame labels and LM text in every unit",
        description="Reads a corpus folder (crossdistill asr data synth, or a LibriSpeech tree with alignments) and "
        "writes OUT: phone.txt, senone.txt + senone_tree.txt (tied triphone states), subword.model + subword.txt, "
        "frames/{split}.npz (10 ms labels in the three units) and lm/{unit}.{train,valid,dev}.txt. Prints a JSON "
        "summary. Rerunning the same command resumes a killed run; a finished folder is left as it is.",
    )
    parser.add_argument("--corpus", type=Path, required=True, help="corpus folder")
    parser.add_argument("--out", type=Path, required=True, help="units folder to write")
    parser.add_argument(
        "--senones", type=int, default=_DEFAULTS.senones, help=f"senone tree leaves K (default {_DEFAULTS.senones})"
    )
    parser.add_argument(
        "--subwords",
        type=int,
        default=_DEFAULTS.subwords,
        help=f"sentencepiece unigram vocabulary V, 4 special pieces included (default {_DEFAULTS.subwords})",
    )
    parser.add_argument(
        "--min-leaf-frames",
        type=int,
        default=_DEFAULTS.min_leaf_frames,
        help=f"fewest training frames per senone (default {_DEFAULTS.min_leaf_frames})",
    )
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed, help=f"random seed (default {_DEFAULTS.seed})")
    parser.add_argument(
        "--train-split",
        default=_DEFAULTS.train_split,
        help=f"split whose audio grows the senone tree (default {_DEFAULTS.train_split})",
    )
    parser.add_argument(
        "--dev-split",
        default=_DEFAULTS.dev_split,
        help=f"split whose transcripts become lm/{{unit}}.dev.txt (default {_DEFAULTS.dev_split})",
    )
    parser.add_argument("--features-cache", type=Path, help="fbank cache folder (default: the corpus reader's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run_units)


def run_units(args: argparse.Namespace) -> int:
    from crossdistill.data.asr.units.build import build_units
    from crossdistill.data.asr.units.corpus import units_inputs

    options = UnitsOptions(
        senones=args.senones,
        subwords=args.subwords,
        min_leaf_frames=args.min_leaf_frames,
        seed=args.seed,
        train_split=args.train_split,
        dev_split=args.dev_split,
    )
    options.check()
    inputs = units_inputs(args.corpus, features_cache=args.features_cache, progress=not args.quiet)
    summary = build_units(inputs, args.out, options, progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    return 0
