"""Phone-boundary error of a forced alignment against each synthesis engine's own timings (docs/data.md).

Reads a synthetic LibriSpeech-layout corpus made with ``--engines`` (its ``alignments/`` hold every engine's own
timings: eSpeak's events, flite's and festival's Segment relations) and the output folder of ``crossdistill asr
align`` on it, and prints per split and engine the boundary error of the aligned phones against the corpus's
(``alignment.phone_boundary_errors``: non-silence phones matched in order, each matched phone's start and end).
On eSpeak's speakers the corpus's timings are the truth, so that row is the aligner's own error; on flite's and
festival's it is the disagreement between the aligner and the engine.

    python scripts/measure_engine_alignment.py --corpus CORPUS --aligned ALIGNED
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crossdistill.data.asr.ctm import read_ctm
from crossdistill.data.asr.librispeech import SYNTHETIC_SPLITS
from crossdistill.train.asr.hybrid_decoding.alignment import combine_boundary_errors, phone_boundary_errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="synthetic corpus made with --engines")
    parser.add_argument("--aligned", type=Path, required=True, help="the --out folder of crossdistill asr align")
    args = parser.parse_args()
    metadata = json.loads((args.corpus / "corpus.json").read_text(encoding="utf-8"))
    engine_of = {str(s["speaker"]): s.get("engine", "espeak") for split in metadata["speakers"].values() for s in split}
    report = {}
    for split in SYNTHETIC_SPLITS:
        aligned_path = args.aligned / f"{split}.phones.ctm"
        if not aligned_path.is_file():
            continue
        reference, aligned = read_ctm(args.corpus / "alignments" / f"{split}.phones.ctm"), read_ctm(aligned_path)
        parts: dict[str, list] = {}
        for utt_id, hypothesis in aligned.items():
            parts.setdefault(engine_of[utt_id.split("-")[0]], []).append(
                phone_boundary_errors(reference[utt_id], hypothesis)
            )
        report[split] = {engine: combine_boundary_errors(p).summary() for engine, p in sorted(parts.items())}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
