"""Signal processing that turns eSpeak's clean 22.05 kHz output into a speaker's 16 kHz recording.

Chain (``render``): speed warp + resample (soxr) -> silence padding -> channel colouring (high-pass,
low-pass, one peaking band; biquads) -> light reverberation (a synthetic exponentially decaying noise
impulse response) -> additive coloured noise at a given SNR -> peak level -> 16-bit PCM.

The "vocal-tract-length warp" is a resampling-speed warp (as in Kaldi's speed perturbation): reading the
22.05 kHz samples as if they were recorded at ``22050 * warp`` Hz scales formants by ``warp``, and also
pitch and tempo, which the sampled pitch and rate then vary independently on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr
from scipy import signal

from crossdistill.data.speakers import SpeakerConfig

PEAK_LEVEL_RANGE = (0.3, 0.9)  # per-utterance recording level (peak, full scale = 1)
SNR_SPREAD_DB = 3.0  # utterance SNR = speaker SNR +- this
PAD_RANGE_S = (0.05, 0.35)  # leading and trailing silence, each
NOISE_BED_S = 16  # seconds of noise made once per speaker (an FFT per utterance was most of the cost)


@dataclass(frozen=True)
class Channel:
    """A speaker's fixed recording chain: filter sections and room impulse response at the output rate."""

    sos: np.ndarray
    impulse_response: np.ndarray
    wet: float
    noise_bed: np.ndarray  # unit-power background noise of the speaker's room; utterances take random crops


def build_channel(speaker: SpeakerConfig, rng: np.random.Generator, sample_rate: int) -> Channel:
    """Build the filters and room response of ``speaker`` (``rng`` draws the response's noise)."""
    nyquist = sample_rate / 2
    high = signal.butter(2, speaker.highpass_hz, btype="highpass", fs=sample_rate, output="sos")
    low = signal.butter(4, min(speaker.lowpass_hz, 0.95 * nyquist), btype="lowpass", fs=sample_rate, output="sos")
    peak = _peaking_sos(speaker.eq_freq_hz, speaker.eq_gain_db, q=1.0, sample_rate=sample_rate)
    # Truncated at -40 dB (2/3 of rt60): the rest is inaudible under the noise and costs convolution time.
    length = max(16, int(min(2 / 3 * speaker.rt60_s, 0.4) * sample_rate))
    t = np.arange(length) / sample_rate
    # -60 dB after rt60 seconds: amplitude exp(-6.908 t / rt60).
    response = rng.standard_normal(length) * np.exp(-6.908 * t / speaker.rt60_s)
    response /= np.sqrt(np.sum(response**2))
    noise_bed = coloured_noise(rng, NOISE_BED_S * sample_rate, speaker.noise_colour).astype(np.float32)
    return Channel(np.vstack([high, low, peak]), response.astype(np.float32), speaker.reverb_wet, noise_bed)


def _peaking_sos(freq: float, gain_db: float, q: float, sample_rate: int) -> np.ndarray:
    """One peaking-EQ biquad (Audio EQ Cookbook) as a second-order section."""
    a_gain = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq / sample_rate
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a_gain, -2 * np.cos(w0), 1 - alpha * a_gain])
    a = np.array([1 + alpha / a_gain, -2 * np.cos(w0), 1 - alpha / a_gain])
    return np.concatenate([b / a[0], a / a[0]])[None, :]


def coloured_noise(rng: np.random.Generator, n: int, colour: str) -> np.ndarray:
    """Return unit-power white, pink (1/f) or brown (1/f^2) noise of length ``n``."""
    white = rng.standard_normal(n)
    if colour != "white":
        exponent = {"pink": 0.5, "brown": 1.0}[colour]  # amplitude slope
        spectrum = np.fft.rfft(white)
        freqs = np.arange(spectrum.shape[0], dtype=np.float64)
        freqs[0] = 1.0
        white = np.fft.irfft(spectrum / freqs**exponent, n)
    return white / max(np.sqrt(np.mean(white**2)), 1e-12)


@dataclass(frozen=True)
class Rendered:
    """A finished recording and how its time axis maps back to the synthesized samples."""

    pcm: np.ndarray  # int16 at the output rate
    seconds_per_source_sample: float  # 1 / (source_rate * warp)
    offset_s: float  # leading padding


def render(
    clean: np.ndarray,
    source_rate: int,
    speaker: SpeakerConfig,
    channel: Channel,
    rng: np.random.Generator,
    sample_rate: int,
) -> Rendered:
    """Turn eSpeak's int16 output into the speaker's recording at ``sample_rate``.

    A source sample ``k`` lands at ``offset_s + k * seconds_per_source_sample`` seconds in the result.
    """
    speech = warp_and_resample(clean.astype(np.float32) / 32768.0, source_rate, speaker.vtl_warp, sample_rate)
    lead, trail = (int(rng.uniform(*PAD_RANGE_S) * sample_rate) for _ in range(2))
    x = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(trail, np.float32)])
    x = signal.sosfilt(channel.sos, x).astype(np.float32)
    reverberant = signal.fftconvolve(x, channel.impulse_response)[: x.shape[0]]  # faster than oaconvolve here
    x = (1 - channel.wet) * x + channel.wet * reverberant.astype(np.float32)
    speech_power = float(np.mean(x[lead : lead + speech.shape[0]] ** 2)) if speech.size else 0.0
    snr_db = speaker.snr_db + rng.uniform(-SNR_SPREAD_DB, SNR_SPREAD_DB)
    noise = _crop(channel.noise_bed, x.shape[0], rng)
    x = x + noise * np.float32(np.sqrt(speech_power / 10 ** (snr_db / 10)))
    peak = float(np.max(np.abs(x))) or 1.0
    x = x * np.float32(rng.uniform(*PEAK_LEVEL_RANGE) / peak)
    pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
    return Rendered(pcm, 1.0 / (source_rate * speaker.vtl_warp), lead / sample_rate)


def _crop(bed: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Return ``n`` samples of ``bed`` from a random offset, wrapping around."""
    start = int(rng.integers(bed.shape[0]))
    return np.take(bed, np.arange(start, start + n), mode="wrap")


def warp_and_resample(audio: np.ndarray, source_rate: int, warp: float, target_rate: int) -> np.ndarray:
    """Resample float audio read as if at ``source_rate * warp`` Hz to ``target_rate`` Hz."""
    return np.asarray(soxr.resample(audio, source_rate * warp, target_rate, quality="HQ"), dtype=np.float32)
