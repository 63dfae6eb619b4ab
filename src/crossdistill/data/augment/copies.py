"""One augmented copy: what it is (decided from the seed, the factor and the utterance id alone) and making it.

Every random choice of a copy comes from its own streams, seeded by (seed, stream, speed in thousandths, a hash of
the source utterance id): a copy is the same whatever other utterances the corpus holds, however many worker
processes make the copies, and whether or not an earlier run was interrupted. Reverberation, noise level and noise
samples each have their own stream, so that turning one option on or off leaves the other choices as they were.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from crossdistill.common import fingerprint
from crossdistill.common.atomic import atomic_path
from crossdistill.data.audio import SAMPLE_RATE, read_audio
from crossdistill.data.augment.options import AugmentOptions, speed_key
from crossdistill.data.augment.signal import (
    NOISE_COLOURS,
    Room,
    add_noise,
    draw_room,
    perturb_speed,
    reverberate,
    room_impulse_response,
    to_pcm16,
)

_STREAM_ROOMS, _STREAM_REVERB, _STREAM_NOISE_LEVEL, _STREAM_NOISE_SAMPLES = 21, 22, 23, 24


@dataclass(frozen=True)
class CopyPlan:
    """One copy of one training utterance.

    Fields:
      source: the original's audio file (absolute). target: the copy's audio file, relative to the output root
        (``.wav`` or ``.flac``: the format follows the suffix).
      source_utt, utt_id: the original's and the copy's utterance ids.
      source_speaker, speaker: the original's and the copy's speaker ids.
      speed: the factor. snr_db, noise: the noise's SNR and colour (None: no noise).
      room: index into the room bank (None: no reverberation). seed: the augmentation's seed.
    """

    source: str
    target: str
    source_utt: str
    utt_id: str
    source_speaker: str
    speaker: str
    speed: float
    snr_db: float | None
    noise: str | None
    room: int | None
    seed: int

    def record(self) -> dict:
        """What ``augmentation.jsonl`` says about this copy."""
        return {"utt_id": self.utt_id, "source": self.source_utt, "speaker": self.speaker, "speed": self.speed,
                "snr_db": self.snr_db, "noise": self.noise, "room": self.room}  # fmt: skip


def copy_stream(seed: int, stream: int, speed: float, source_utt: str) -> np.random.Generator:
    """The random stream ``stream`` of the copy of ``source_utt`` at ``speed``."""
    return np.random.default_rng([seed, stream, speed_key(speed), int(fingerprint(source_utt), 16)])


def room_bank(options: AugmentOptions) -> tuple[Room, ...]:
    """The simulated rooms reverberated copies draw from (each from its own stream)."""
    if options.reverb == 0:
        return ()
    return tuple(draw_room(np.random.default_rng([options.seed, _STREAM_ROOMS, i])) for i in range(options.rooms))


def plan_copy(
    options: AugmentOptions, speed: float, source: Path, target: str, utts: tuple[str, str], speakers: tuple[str, str]
) -> CopyPlan:
    """Decide a copy's noise and room from the seed, the factor and the source utterance id.

    ``utts`` and ``speakers``: (the original's, the copy's) utterance and speaker ids.
    """
    source_utt = utts[0]
    snr, colour, room = None, None, None
    if options.noise_snr_db is not None:
        rng = copy_stream(options.seed, _STREAM_NOISE_LEVEL, speed, source_utt)
        snr = round(float(rng.uniform(*options.noise_snr_db)), 2)
        colour = NOISE_COLOURS[int(rng.integers(len(NOISE_COLOURS)))]
    if options.reverb > 0:
        rng = copy_stream(options.seed, _STREAM_REVERB, speed, source_utt)
        if rng.uniform() < options.reverb:
            room = int(rng.integers(options.rooms))
    return CopyPlan(str(source), target, *utts, *speakers, speed, snr, colour, room, options.seed)


def make_copy(plan: CopyPlan, root: str | os.PathLike, rooms: tuple[Room, ...]) -> None:
    """Write the copy under ``root`` (atomically; a copy that is already there is complete and left alone)."""
    target = Path(root) / plan.target
    if target.exists():
        return
    audio = perturb_speed(read_audio(plan.source), plan.speed)
    if plan.room is not None:
        audio = reverberate(audio, room_impulse_response(rooms[plan.room]))
    if plan.snr_db is not None:
        rng = copy_stream(plan.seed, _STREAM_NOISE_SAMPLES, plan.speed, plan.source_utt)
        audio = add_noise(audio, plan.snr_db, plan.noise, rng)
    audio_format = {".wav": "WAV", ".flac": "FLAC"}[target.suffix.lower()]
    with atomic_path(target) as tmp:
        soundfile.write(tmp, to_pcm16(audio), SAMPLE_RATE, subtype="PCM_16", format=audio_format)
