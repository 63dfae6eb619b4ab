"""Pronunciation variants learned from a training split's alignments, for decoding.

The lexicon gives each word one pronunciation, as said alone; in running speech words are said otherwise ("TO" as
T AH rather than T UW), and the AM, trained on the audio's alignments, hears those phones. Kaldi's LibriSpeech
recipe re-estimates pronunciations from training alignments for this reason (``steps/get_prons.sh``). We do a
simple version: for every aligned word of the split, its phones are the non-silence phone segments whose midpoint
lies in the word's span; a phone sequence other than the lexicon's that a word takes at least ``min_count`` times
and in at least ``min_share`` of its occurrences becomes a variant, searched beside the lexicon's pronunciation
(with the same LM score: the decoder has no pronunciation probabilities).

Only training alignments may teach variants (never the split that is reported). docs/asr.md gives the measured
effect and how the thresholds were chosen (on dev).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from crossdistill.data.asr.alignments import AsrAlignment
from crossdistill.data.asr.phones import SILENCE, SPOKEN_NOISE


def word_pronunciations(alignment: AsrAlignment) -> list[tuple[str, tuple[str, ...]]]:
    """``(word, phones)`` of each aligned word: the non-silence phones whose midpoint lies in its span."""
    phones = [p for p in alignment.phones if p.label != SILENCE]
    result = []
    for word in alignment.words:
        inside = tuple(p.label for p in phones if word.start <= (p.start + p.end) / 2 < word.end)
        result.append((word.label, inside))
    return result


def learn_variants(
    alignments: Mapping[str, AsrAlignment],
    lexicon: Mapping[str, Sequence[str]],
    min_count: int = 2,
    min_share: float = 0.05,
) -> dict[str, list[tuple[str, ...]]]:
    """Variants of lexicon words seen in ``alignments`` (see the module docstring): ``{word: [phones, ...]}``,
    most frequent first; words without a variant are left out."""
    if min_count < 1 or not 0.0 < min_share <= 1.0:
        raise ValueError(f"variants need min_count >= 1 and 0 < min_share <= 1, got {min_count}, {min_share}")
    seen: dict[str, Counter] = defaultdict(Counter)
    for alignment in alignments.values():
        for word, phones in word_pronunciations(alignment):
            if word in lexicon and phones and SPOKEN_NOISE not in phones:
                seen[word][phones] += 1
    variants = {}
    for word in sorted(seen):
        counts, total = seen[word], sum(seen[word].values())
        kept = [
            phones
            for phones, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            if phones != tuple(lexicon[word]) and count >= min_count and count / total >= min_share
        ]
        if kept:
            variants[word] = kept
    return variants
