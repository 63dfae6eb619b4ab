"""Word and phoneme alignments: the sidecar format, reading it, and frame-wise targets.

Sidecar ``data/<split>_alignments.jsonl`` beside the CSVs, one JSON object per line::

    {"utt_id": "wavs/speakers/spk003/spk003_0007", "duration": 2.184,
     "words": [["turn", 0.312, 0.57], ...], "phonemes": [["t", 0.312, 0.35], ...]}

Times are seconds in the written 16 kHz file (after resampling, speed warp and padding). Segments are in
time order and do not overlap; gaps (silence, pauses) carry no segment. Word labels are the
transcription's words, lower-cased with surrounding punctuation removed (``transcription_words``), so
they spell the transcription. Phoneme labels are eSpeak NG's ASCII phoneme names with stress marks
removed; ``data/phonemes.json`` lists the inventory. Real corpora have no sidecar.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from crossdistill.data.corpus import Corpus, alignment_path

PHONEME_INVENTORY_FILE = "phonemes.json"
_STRESS_MARKS = "',%="
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Segment:
    """A labelled time span in seconds."""

    label: str
    start: float
    end: float


@dataclass(frozen=True)
class UtteranceAlignment:
    """Word and phoneme segments of one utterance, each in time order."""

    words: list[Segment]
    phonemes: list[Segment]


def transcription_words(transcription: str) -> list[str]:
    """Return the words of a transcription as alignments label them (lower case, no punctuation)."""
    return [w.strip("'") for w in _WORD.findall(transcription.lower()) if w.strip("'")]


def phoneme_inventory_path(root: str | Path) -> Path:
    """Return the path of the phoneme inventory file under a corpus root."""
    return Path(root) / "data" / PHONEME_INVENTORY_FILE


def _require_alignments(corpus: Corpus, split: str) -> Path:
    path = alignment_path(corpus.root, split)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no alignment sidecar. Frame-wise phoneme/word targets (acoustic pre-training, "
            "paper 001's frame-wise LM targets) need alignments; only the synthetic corpus "
            "(`crossdistill data synth`) ships them. For a real corpus, produce them with a forced aligner "
            "in this format (see docs/data.md)."
        )
    return path


def load_alignments(corpus: Corpus, split: str) -> dict[str, UtteranceAlignment]:
    """Read the alignments of ``split`` into ``{utt_id: UtteranceAlignment}``.

    Raises ``FileNotFoundError`` (saying what needs them) when the sidecar is absent, and ``ValueError``
    naming file and line for malformed entries or an utterance of the split without alignment.
    """
    path = _require_alignments(corpus, split)
    result: dict[str, UtteranceAlignment] = {}
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                result[entry["utt_id"]] = UtteranceAlignment(
                    words=[Segment(str(label), float(s), float(e)) for label, s, e in entry["words"]],
                    phonemes=[Segment(str(label), float(s), float(e)) for label, s, e in entry["phonemes"]],
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                raise ValueError(f"{path}, line {line_no}: malformed alignment entry ({error})") from error
    missing = [u.utt_id for u in corpus.splits[split] if u.utt_id not in result]
    if missing:
        raise ValueError(f"{path}: no alignment for {len(missing)} utterance(s), e.g. {missing[0]!r}")
    return result


def load_phoneme_inventory(corpus: Corpus) -> list[str]:
    """Return the corpus's phoneme labels in id order (``data/phonemes.json``)."""
    path = phoneme_inventory_path(corpus.root)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no phoneme inventory; it comes with the alignments of a synthetic corpus")
    return list(json.loads(path.read_text(encoding="utf-8"))["phonemes"])


def frame_labels(
    segments: Sequence[Segment],
    n_frames: int,
    frame_shift_s: float,
    vocab: dict[str, int],
    fill: int = -100,
) -> torch.Tensor:
    """Return a LongTensor[n_frames] labelling frame ``i`` (centred at ``(i + 0.5) * frame_shift_s``).

    A frame gets the id of the segment containing its centre, else ``fill`` (-100 is ignored by
    ``cross_entropy``; pass a silence id to train on gaps instead). Labels missing from ``vocab`` raise
    ``KeyError``.
    """
    labels = torch.full((n_frames,), fill, dtype=torch.long)
    for segment in segments:
        # Frames whose centre lies in [start, end): i >= start/shift - 0.5 and i < end/shift - 0.5.
        first = max(0, int(-(-(segment.start / frame_shift_s - 0.5) // 1)))
        last = min(n_frames, int(-(-(segment.end / frame_shift_s - 0.5) // 1)))
        if last > first:
            labels[first:last] = vocab[segment.label]
    return labels


def strip_stress(name: str) -> str:
    """Remove eSpeak's stress marks from a phoneme name (``'aI`` -> ``aI``)."""
    return name.lstrip(_STRESS_MARKS)


def is_pause(name: str) -> bool:
    """True for eSpeak's pause pseudo-phonemes (``_``, ``_:``, ``_!`` ...)."""
    return name.startswith("_")


def build_alignment(
    transcription: str,
    phonemes: Sequence[tuple[str, int, int]],
    word_events: Sequence[tuple[int, int]],
    n_samples: int,
    phonemize_word: Callable[[str], Sequence[str]],
) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """Turn eSpeak events into word and phoneme segments, in samples of the synthesized audio.

    Args:
      transcription: the text that was synthesized.
      phonemes: ``(name, start_sample, text_position)`` of every PHONEME event, in order (pauses included).
      word_events: ``(text_position, start_sample)`` of every WORD event.
      n_samples: length of the synthesized audio.
      phonemize_word: phoneme names of a word said alone; splits units eSpeak speaks as one word.

    A phoneme lasts until the next phoneme (or pause) starts. eSpeak reports one WORD event per unit it
    speaks, and a few word pairs are one unit ("on the", "I am"): their phonemes are shared out by the
    words' phoneme counts when said alone (exact when the counts add up, else proportional), so word
    boundaries inside such units are approximate. A WORD event that falls in the gap before the word's
    first phoneme (a stop closure) starts the word there.
    """
    words = [(m.start() + 1, m.group()) for m in _WORD.finditer(transcription)]
    labels = transcription_words(transcription)
    if len(words) != len(labels):
        raise ValueError(f"cannot tokenize {transcription!r}")
    ends = [p[1] for p in phonemes[1:]] + [n_samples]
    spans = [(strip_stress(n), start, end, pos) for (n, start, pos), end in zip(phonemes, ends, strict=True)]
    spoken = [s for s in spans if not is_pause(s[0]) and s[2] > s[1]]
    if not spoken:
        raise ValueError(f"eSpeak produced no phonemes for {transcription!r}")
    phoneme_segments = [[name, start, end] for name, start, end, _ in spoken]

    # A unit is what eSpeak speaks as one word: from one WORD event's text position to the next.
    event_sample = dict(word_events)
    unit_starts = sorted(set(event_sample) | {spoken[0][3]})
    unit_starts.append(1 << 30)
    word_runs: list[list] = []  # [label, first phoneme index, last phoneme index, start sample or None]
    for unit_pos, next_pos in itertools.pairwise(unit_starts):
        members = [i for i, s in enumerate(spoken) if unit_pos <= s[3] < next_pos]
        unit_words = [labels[k] for k, (pos, _) in enumerate(words) if unit_pos <= pos < next_pos]
        if not members or not unit_words:
            continue
        counts = _share_out(len(members), [len(phonemize_word(w)) or 1 for w in unit_words])
        runs, cursor = [], members[0]
        for label, count in zip(unit_words, counts, strict=True):
            if count > 0:
                runs.append([label, cursor, cursor + count - 1, None])
                cursor += count
        # A WORD event in the gap before the unit's first phoneme (a stop closure) starts the unit.
        first, sample = members[0], event_sample.get(unit_pos)
        if sample is not None and first > 0 and phoneme_segments[first - 1][1] < sample < spoken[first][1]:
            phoneme_segments[first - 1][2] = sample
            runs[0][3] = sample
        word_runs.extend(runs)
    word_segments = [
        (label, phoneme_segments[a][1] if start is None else start, phoneme_segments[b][2])
        for label, a, b, start in word_runs
    ]
    return word_segments, [(n, s, e) for n, s, e in phoneme_segments]


def _share_out(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` items into ``len(weights)`` runs: by the weights when they add up, else in proportion."""
    if sum(weights) == total:
        return list(weights)
    if len(weights) == 1:
        return [total]
    scale = total / sum(weights)
    counts = [max(1, round(w * scale)) for w in weights[:-1]]
    counts.append(max(0, total - sum(counts)))
    return counts
