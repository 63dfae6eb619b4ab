"""Frame labels of one aligned utterance in the three units, and the ragged per-split file that stores them.

- phone: the phone segment holding the frame's centre (``frames.frame_labels``).
- senone: that phone's context ``(phone, state by duration thirds, left, right)`` through the tree's table.
- subword: a spoken frame (phone not ``SIL``) belongs to the word whose span holds the middle of its phone
  segment, and a word's frames are divided among its pieces in proportion to their phone counts (our
  approximation: no aligner gives piece boundaries): the word's spoken phones go to the pieces in proportion to
  the pieces' letters, every piece at least one phone (``subwords.allocate_phones``), and a piece's frames end
  where its last phone ends. A word with fewer phones than pieces has the span of its phones cut in proportion
  to the pieces' letters instead. ``<sil>`` labels the silence before the first and after the last spoken frame
  only: a pause inside the utterance takes the label of the nearest spoken frame (its first half the word
  before, its second half the word after), because subwords are the text's units and their LM text, like a
  seq2seq model's output, has no silence between words. Cuts are monotone, so every frame of a word belongs to
  exactly one of its pieces, in order, and a word's frames are contiguous. A spoken phone inside no word
  (inconsistent alignments) is treated as silence. ``build`` counts the pause frames that take a piece.

``frames/{split}.npz``: ``utt_ids`` (N,), ``offsets`` int64 (N + 1,) and ``senone``, ``phone``, ``subword`` int32
arrays over all frames; utterance ``i`` owns ``[offsets[i], offsets[i + 1])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossdistill.common import atomic_path
from crossdistill.data.alignments import Segment
from crossdistill.data.asr.frames import frame_centres, frame_segment_indices, segment_bounds
from crossdistill.data.asr.phones import SILENCE
from crossdistill.data.asr.units.subwords import allocate_phones, piece_weights

UNITS = ("senone", "phone", "subword")


def subword_frames(
    words: Sequence[Segment],
    phones: Sequence[Segment],
    word_pieces: Sequence[Sequence[int]],
    piece_names: Sequence[str],
    n_frames: int,
    silence_id: int,
) -> np.ndarray:
    """The subword id of every frame (see the module docstring); ``word_pieces[w]`` are word ``w``'s piece ids."""
    if len(word_pieces) != len(words):
        raise ValueError(f"{len(word_pieces)} piece lists for {len(words)} words")
    labels = np.full(n_frames, silence_id, dtype=np.int32)
    if not words or not phones:
        return labels
    phone_starts, phone_ends = segment_bounds(phones)
    word_starts, word_ends = segment_bounds(words)
    middles = (phone_starts + phone_ends) / 2
    word_of_phone = np.searchsorted(word_starts, middles, side="right") - 1
    inside = (word_of_phone >= 0) & (middles < word_ends[np.maximum(word_of_phone, 0)])
    spoken = np.array([p.label != SILENCE for p in phones], dtype=bool)
    word_of_phone[~(inside & spoken)] = -1
    phone_of_frame = frame_segment_indices(phones, n_frames)
    word_of_frame = np.where(phone_of_frame >= 0, word_of_phone[phone_of_frame], -1)
    centres = frame_centres(n_frames)
    for w, pieces in enumerate(word_pieces):
        frames = np.flatnonzero(word_of_frame == w)
        if not frames.size:
            continue
        weights = piece_weights([piece_names[p] for p in pieces])
        own_phones = np.flatnonzero(word_of_phone == w)
        if len(own_phones) >= len(pieces):
            last_phone = np.cumsum(allocate_phones(weights, len(own_phones)))[:-1] - 1
            cuts = phone_ends[own_phones[last_phone]]
        else:
            share = np.cumsum(weights)[:-1] / sum(weights)
            start, end = phone_starts[own_phones[0]], phone_ends[own_phones[-1]]
            cuts = start + (end - start) * share
        piece_of_frame = np.searchsorted(cuts, centres[frames], side="right")
        labels[frames] = np.asarray(pieces, dtype=np.int32)[piece_of_frame]
    return _fill_inner_silence(labels, silence_id)


def _fill_inner_silence(labels: np.ndarray, silence_id: int) -> np.ndarray:
    """Give each silent frame between the first and last spoken frame the label of the nearest spoken frame
    (ties: the later one)."""
    spoken = np.flatnonzero(labels != silence_id)
    if spoken.size < 2:
        return labels
    inner = np.arange(spoken[0], spoken[-1] + 1)
    inner = inner[labels[inner] == silence_id]
    after = np.searchsorted(spoken, inner)  # first spoken frame after each silent one (exists: inner < last)
    nearest = np.where(inner - spoken[after - 1] < spoken[after] - inner, spoken[after - 1], spoken[after])
    labels[inner] = labels[nearest]
    return labels


@dataclass(frozen=True)
class FrameLabels:
    """Ragged frame labels of one split (see the module docstring)."""

    utt_ids: np.ndarray
    offsets: np.ndarray
    labels: dict[str, np.ndarray]

    def index(self) -> dict[str, int]:
        return {utt: i for i, utt in enumerate(self.utt_ids.tolist())}

    def utterance(self, position: int) -> dict[str, np.ndarray]:
        """The three label arrays of the utterance at ``position``."""
        start, end = self.offsets[position], self.offsets[position + 1]
        return {unit: values[start:end] for unit, values in self.labels.items()}


def write_frame_labels(path: str | Path, utt_ids: Sequence[str], per_utterance: Sequence[dict[str, np.ndarray]]):
    """Concatenate per-utterance label arrays into the ragged file (atomically)."""
    lengths = [len(labels["phone"]) for labels in per_utterance]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    arrays = {
        unit: np.concatenate([labels[unit] for labels in per_utterance]).astype(np.int32)
        if per_utterance
        else np.zeros(0, np.int32)
        for unit in UNITS
    }
    with atomic_path(path) as tmp:
        np.savez(tmp, utt_ids=np.array(list(utt_ids), dtype=str), offsets=offsets, **arrays)


def read_frame_labels(path: str | Path) -> FrameLabels:
    """Read a ragged file written by ``write_frame_labels``, checking its shape."""
    with np.load(path, allow_pickle=False) as data:
        missing = {"utt_ids", "offsets", *UNITS} - set(data.files)
        if missing:
            raise ValueError(f"{path}: not a frame-label file (missing {', '.join(sorted(missing))})")
        utt_ids, offsets = data["utt_ids"], data["offsets"]
        labels = {unit: data[unit] for unit in UNITS}
    total = int(offsets[-1]) if len(offsets) else -1
    if len(offsets) != len(utt_ids) + 1 or offsets[0] != 0 or (np.diff(offsets) < 0).any():
        raise ValueError(f"{path}: offsets do not describe {len(utt_ids)} utterances")
    for unit, values in labels.items():
        if len(values) != total:
            raise ValueError(f"{path}: {unit} has {len(values)} frames, offsets say {total}")
    return FrameLabels(utt_ids=utt_ids, offsets=offsets, labels=labels)
