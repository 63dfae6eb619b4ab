"""Triphone HMM-state contexts: of the frames of an aligned utterance, and of a phone sequence from text.

A context is ``(phone, state, left, right)`` as phone ids and a state in 0..2: each phone is a 3-state
left-to-right HMM, as in Kaldi's and HTK's hybrid recipes. Neighbours are the previous and next phone of the
sequence, across word boundaries, with ``SIL`` beyond the utterance edges.

In an alignment, a phone segment's frames are split into states by duration thirds: a frame whose centre lies
in the first third of the segment is state 0, and so on (frames past the end of the last segment are its
last state). A segment shorter than 3 frames therefore lacks a state (1 frame: only the state whose third
holds its centre; 2 frames: two states), and one shorter than half a frame labels no frame at all; forced
alignment with a 3-state topology never produces either, the synthetic alignments can (docs/asr-units.md
gives the measured share). We keep the alignment's timing rather than inventing frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.frames import frame_centres, frame_segment_indices, segment_bounds
from crossdistill.data.asr.phones import PHONE_IDS, SILENCE

N_STATES = 3
SILENCE_ID = PHONE_IDS[SILENCE]


def phone_ids(labels: Sequence[str], where: str = "phone sequence") -> np.ndarray:
    """Phone ids of phone symbols; ``ValueError`` naming ``where`` and the symbol for one outside ``PHONES``."""
    try:
        return np.array([PHONE_IDS[label] for label in labels], dtype=np.int64)
    except KeyError as error:
        raise ValueError(f"{where}: {error.args[0]!r} is not a phone of crossdistill.data.asr.phones.PHONES") from None


def neighbours(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left and right neighbour of every position of a phone-id sequence, ``SIL`` beyond the edges."""
    left = np.full(len(ids), SILENCE_ID, dtype=np.int64)
    right = np.full(len(ids), SILENCE_ID, dtype=np.int64)
    left[1:] = ids[:-1]
    right[:-1] = ids[1:]
    return left, right


def frame_contexts(segments: Sequence[Segment], n_frames: int, where: str = "alignment") -> np.ndarray:
    """The context of every frame of an utterance from its phone segments: (n_frames, 4) int64 rows
    ``(phone, state, left, right)``.

    ``segments`` must tile the utterance (phone CTMs do: SIL segments fill the pauses); a frame in a gap is an
    error naming ``where``.
    """
    indices = frame_segment_indices(segments, n_frames)
    if (indices < 0).any():
        frame = int(np.flatnonzero(indices < 0)[0])
        raise ValueError(f"{where}: frame {frame} lies in no phone segment (phone segments must tile the audio)")
    ids = phone_ids([s.label for s in segments], where)
    left, right = neighbours(ids)
    starts, ends = segment_bounds(segments)
    centres = frame_centres(n_frames)
    start, end = starts[indices], ends[indices]
    states = np.floor(N_STATES * (centres - start) / (end - start)).astype(np.int64)
    states = np.clip(states, 0, N_STATES - 1)  # frames past the last segment's end: its last state
    return np.stack([ids[indices], states, left[indices], right[indices]], axis=1)


def sequence_contexts(ids: np.ndarray) -> np.ndarray:
    """The contexts of a phone sequence read as text: every position's 3 states in order, (3 * len, 4) rows."""
    left, right = neighbours(ids)
    rows = np.repeat(np.stack([ids, np.zeros_like(ids), left, right], axis=1), N_STATES, axis=0)
    rows[:, 1] = np.tile(np.arange(N_STATES), len(ids))
    return rows
