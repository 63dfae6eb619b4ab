"""The signal side of augmentation: speed perturbation, simulated room reverberation, additive coloured noise.

Chain per copy (Kaldi's order: perturb, reverberate, then add noise to the reverberant signal):

1. **Speed** (Kaldi's ``sox speed``): the samples are resampled with soxr as if recorded at ``16000 * factor`` Hz,
   which changes tempo and pitch together; the copy has ``round(n / factor)`` samples, so a time ``t`` of the
   original is ``t / factor`` in the copy.
2. **Reverberation** (with the copy's probability): convolution with the impulse response of a simulated shoebox
   room (pyroomacoustics' image-source method). As Kaldi's ``reverberate_data_dir.py`` does by default, the output is
   shifted back by the response's peak (the direct path), keeps the input's length and its power, so alignments
   stay where they were.
3. **Noise**: white, pink or brown Gaussian noise (``crossdistill.data.effects.coloured_noise``) scaled to the drawn
   SNR against the mean power of the whole (reverberant) utterance, silences included, as audiomentations and
   Kaldi's ``augment_data_dir.py`` measure it.

A copy whose peak would clip is scaled down to ``MAX_PEAK``; it is written as 16-bit PCM.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import signal

from crossdistill.data.audio import SAMPLE_RATE
from crossdistill.data.effects import coloured_noise, warp_and_resample

NOISE_COLOURS = ("white", "pink", "brown")
MAX_PEAK = 0.99
# Shoebox rooms, from a small office to a class room; RT60 as Sabine's formula gives it (pyroomacoustics'
# inverse_sabine sets wall absorption and the image-source order from it).
ROOM_LENGTH_M, ROOM_WIDTH_M, ROOM_HEIGHT_M = (3.0, 10.0), (3.0, 8.0), (2.4, 4.0)
RT60_RANGE_S = (0.2, 0.6)
WALL_MARGIN_M = 0.5  # source and microphone at least this far from every wall
MIN_DISTANCE_M = 0.5  # ... and from each other
MAX_POSITION_DRAWS = 100


@dataclass(frozen=True)
class Room:
    """One simulated room: size (m), Sabine RT60 (s), and where the talker and the microphone stand (m)."""

    dims: tuple[float, float, float]
    rt60_s: float
    source: tuple[float, float, float]
    microphone: tuple[float, float, float]

    def to_dict(self) -> dict:
        return {"dims": list(self.dims), "rt60_s": self.rt60_s, "source": list(self.source),
                "microphone": list(self.microphone)}  # fmt: skip


def draw_room(rng: np.random.Generator) -> Room:
    """A random room (dimensions, RT60, source and microphone positions), values rounded to centimetres and ms."""
    dims = tuple(round(float(rng.uniform(*r)), 2) for r in (ROOM_LENGTH_M, ROOM_WIDTH_M, ROOM_HEIGHT_M))
    rt60 = round(float(rng.uniform(*RT60_RANGE_S)), 3)

    def position() -> tuple[float, float, float]:
        return tuple(round(float(rng.uniform(WALL_MARGIN_M, d - WALL_MARGIN_M)), 2) for d in dims)

    source = position()
    for _ in range(MAX_POSITION_DRAWS):
        microphone = position()
        if np.linalg.norm(np.subtract(source, microphone)) >= MIN_DISTANCE_M:
            break
    return Room(dims, rt60, source, microphone)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=256)
def room_impulse_response(room: Room, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The room's impulse response from source to microphone (image-source method, deterministic), float64."""
    import pyroomacoustics as pra

    absorption, max_order = pra.inverse_sabine(room.rt60_s, list(room.dims))
    shoebox = pra.ShoeBox(
        list(room.dims), fs=sample_rate, materials=pra.Material(absorption), max_order=max_order, air_absorption=False
    )
    shoebox.add_source(list(room.source))
    shoebox.add_microphone(list(room.microphone))
    shoebox.compute_rir()
    response = np.asarray(shoebox.rir[0][0], dtype=np.float64)
    response.setflags(write=False)  # shared through the cache
    return response


def perturbed_length(n_samples: int, speed: float) -> int:
    """Samples of a copy at ``speed`` of an ``n_samples``-long recording."""
    return round(n_samples / speed)


def perturb_speed(audio: np.ndarray, speed: float) -> np.ndarray:
    """Kaldi-style speed perturbation (tempo and pitch) by resampling; exactly ``perturbed_length`` samples."""
    if speed == 1.0:
        return audio.astype(np.float64)
    out = warp_and_resample(audio.astype(np.float32), SAMPLE_RATE, speed, SAMPLE_RATE).astype(np.float64)
    n = perturbed_length(audio.shape[0], speed)
    return out[:n] if out.shape[0] >= n else np.pad(out, (0, n - out.shape[0]))


def reverberate(audio: np.ndarray, response: np.ndarray) -> np.ndarray:
    """``audio`` convolved with ``response``, aligned on the response's peak, same length and power as ``audio``."""
    if audio.size == 0:
        return audio
    peak = int(np.argmax(np.abs(response)))
    wet = signal.fftconvolve(audio, response)[peak : peak + audio.shape[0]]
    power_in, power_out = float(np.mean(audio**2)), float(np.mean(wet**2))
    return wet * np.sqrt(power_in / power_out) if power_out > 0 else wet


def add_noise(audio: np.ndarray, snr_db: float, colour: str, rng: np.random.Generator) -> np.ndarray:
    """``audio`` plus ``colour`` noise at ``snr_db`` against the utterance's mean power."""
    noise = coloured_noise(rng, audio.shape[0], colour)  # unit power
    power = float(np.mean(audio**2)) if audio.size else 0.0
    return audio + noise * np.sqrt(power / 10 ** (snr_db / 10))


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio (full scale 1, as soundfile reads 16-bit PCM) as int16, scaled down first if it would clip."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > MAX_PEAK:
        audio = audio * (MAX_PEAK / peak)
    return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)
