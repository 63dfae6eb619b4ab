"""The LM teachers' training text in each unit: sentences -> phones, senones, subwords (streamed, line by line).

Each converted sentence is what deduplicating the frame labels of an aligned utterance of that sentence gives
(paper 001, Fig. 2: deduplicate, run the LM, rearrange), so an LM trained on this text reads the same kind of
sequence the frame-wise posteriors are computed on:

- the sentence is wrapped in silence, ``SIL`` (``<sil>`` for subwords) at both edges, as a recording starts and
  ends in silence;
- between words, phones and senones get ``SIL`` too when the deduplicated phone frames of the training split
  hold a silence at most word boundaries (``silence_between_words``, decided from ``inner_silence_runs``:
  eSpeak leaves a few milliseconds of silence between most words, a real aligner's optional silence is rarer;
  docs/asr-units.md has the measured shares); subwords never do, as their frame labels absorb pauses inside an
  utterance (``labels.py``);
- phones come from the lexicon, an out-of-lexicon word becomes ``SPN`` (spoken noise), as in Kaldi's LibriSpeech
  recipe; their count is reported;
- senones: every phone's 3 states in its triphone context (the previous and next phone across word boundaries,
  the edges' neighbours being ``SIL``) through the tree, one senone per state;
- subwords: each word's sentencepiece pieces;
- finally runs of an equal unit collapse into one, as deduplication of frame labels does (two adjacent equal
  phones across a word boundary are one phone, two equal words' pieces in a row one piece).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from crossdistill.common import atomic_path
from crossdistill.data.asr.phones import PHONE_IDS, PHONES, SILENCE, SPOKEN_NOISE
from crossdistill.data.asr.units.contexts import sequence_contexts
from crossdistill.data.asr.units.subwords import SubwordModel

_CHUNK = 4096  # sentences per sentencepiece call


def collapse(units: Iterable) -> list:
    """Runs of equal consecutive units -> one unit each (deduplication)."""
    return [unit for unit, _ in itertools.groupby(units)]


@dataclass
class TextConverter:
    """Converts normalized sentences (upper-case words separated by spaces) into the three unit sequences."""

    lexicon: dict[str, tuple[str, ...]]
    senone_table: np.ndarray  # [phone, state, left, right] -> senone id
    senone_names: Sequence[str]
    subwords: SubwordModel
    silence_between_words: bool = False  # phones and senones (their silence is the SIL phone's states)
    oov_words: int = 0
    words: int = 0
    _pronunciations: dict[str, np.ndarray] = field(default_factory=dict)
    _name_arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def phone_ids(self, words: Sequence[str]) -> np.ndarray:
        """The sentence's phone ids with ``SIL`` at both edges (and between words), before deduplication."""
        silence = np.array([PHONE_IDS[SILENCE]], dtype=np.int64)
        parts = [silence]
        for number, word in enumerate(words):
            if number and self.silence_between_words:
                parts.append(silence)
            ids = self._pronunciations.get(word)
            if ids is None:
                phones = self.lexicon.get(word)
                if phones is None:
                    self.oov_words += 1
                    phones = (SPOKEN_NOISE,)
                ids = self._pronunciations[word] = np.array([PHONE_IDS[p] for p in phones], dtype=np.int64)
            parts.append(ids)
        parts.append(silence)
        self.words += len(words)
        return np.concatenate(parts)

    def convert(self, sentences: Sequence[str]) -> dict[str, list[str]]:
        """Lines of space-separated units for each unit, one per sentence (one numpy pass per chunk)."""
        split = [sentence.split() for sentence in sentences]
        phone_parts = [self.phone_ids(words) for words in split]
        lengths = np.array([len(part) for part in phone_parts], dtype=np.int64)
        ids = np.concatenate(phone_parts)
        # Every sentence starts and ends with SIL, so on the concatenation the neighbours across two sentences are
        # SIL, as the edge rule says: one call gives every sentence's contexts.
        contexts = sequence_contexts(ids)
        senones = self.senone_table[contexts[:, 0], contexts[:, 1], contexts[:, 2], contexts[:, 3]]
        pieces = iter(self.subwords.encode_words([word for words in split for word in words]))
        silence = self.subwords.silence_id
        subword_ids, subword_lengths = [], []
        for words in split:
            before = len(subword_ids)
            subword_ids.append(silence)
            for _ in words:
                subword_ids.extend(next(pieces))
            subword_ids.append(silence)
            subword_lengths.append(len(subword_ids) - before)
        return {
            "senone": _collapsed_lines(senones, lengths * 3, self._names("senone", self.senone_names)),
            "phone": _collapsed_lines(ids, lengths, self._names("phone", PHONES)),
            "subword": _collapsed_lines(
                np.array(subword_ids), np.array(subword_lengths), self._names("subword", self.subwords.pieces)
            ),
        }

    def _names(self, unit: str, names: Sequence[str]) -> np.ndarray:
        if unit not in self._name_arrays:
            self._name_arrays[unit] = np.array(names, dtype=object)
        return self._name_arrays[unit]


def _collapsed_lines(values: np.ndarray, lengths: np.ndarray, names: np.ndarray) -> list[str]:
    """Sentences concatenated in ``values`` (``lengths`` each, all > 0) -> one line per sentence of the names of
    its units, runs of an equal unit collapsed within the sentence."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    keep[starts] = True  # never collapse across two sentences
    counts = np.add.reduceat(keep, starts).tolist()
    tokens = names[values[keep]].tolist()
    lines, position = [], 0
    for count in counts:
        lines.append(" ".join(tokens[position : position + count]))
        position += count
    return lines


def inner_silence_runs(labels: np.ndarray, silence: int) -> int:
    """Runs of the ``silence`` label between an utterance's first and last other label: the silences that
    deduplicated frame labels hold inside the utterance."""
    spoken = np.flatnonzero(labels != silence)
    if not spoken.size:
        return 0
    inner = labels[spoken[0] : spoken[-1] + 1] == silence
    return int(np.count_nonzero(inner[1:] & ~inner[:-1]))


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(lines)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def read_sentences(path: Path) -> Iterator[str]:
    """Non-empty lines of a text file (normalized sentences), stripped."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line := line.strip():
                yield line


def convert_text(
    sentences: Iterable[str],
    converter: TextConverter,
    outputs: dict[str, Path],
    total: int | None = None,
    progress: bool = True,
    desc: str = "lm text",
) -> dict:
    """Stream ``sentences`` through ``converter`` into one file per unit (each written atomically).

    Returns what it measured: sentences, words, out-of-lexicon words, units per sentence and seconds.
    """
    start = time.perf_counter()
    counts = {"sentences": 0, "words": 0, "oov_words": 0} | {f"{unit}_tokens": 0 for unit in outputs}
    words_before, oov_before = converter.words, converter.oov_words
    with contextlib.ExitStack() as stack:
        handles = {
            unit: stack.enter_context(open(stack.enter_context(atomic_path(path)), "w", encoding="utf-8"))
            for unit, path in outputs.items()
        }
        bar = tqdm(total=total, desc=desc, unit="sent", disable=None if progress else True, leave=False)
        for chunk in _chunks(sentences, _CHUNK):
            converted = converter.convert(chunk)
            for unit, handle in handles.items():
                handle.write("\n".join(converted[unit]) + "\n")
                counts[f"{unit}_tokens"] += sum(line.count(" ") + 1 for line in converted[unit])
            counts["sentences"] += len(chunk)
            bar.update(len(chunk))
        bar.close()
    counts["words"] = converter.words - words_before
    counts["oov_words"] = converter.oov_words - oov_before
    counts["seconds"] = round(time.perf_counter() - start, 3)
    return counts
