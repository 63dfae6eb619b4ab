"""Presets and speakers of the synthetic corpus: a speaker is a sampled voice configuration.

``presets.yaml`` (data) holds the presets and the easy/hard ends of every variability range; a preset's
``difficulty`` interpolates between them. That file is the one place to calibrate the corpus.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import numpy as np
import yaml

PRESETS_FILE = "presets.yaml"
NOISE_COLOURS = ("white", "pink", "brown")


@dataclass(frozen=True)
class Preset:
    """A named corpus configuration: difficulty in [0, 1], default size and, optionally, held-out speakers per split
    (None: FSC's share, see ``synth.split_speakers``) and the share of training labels made wrong
    (``crossdistill.data.label_noise``)."""

    name: str
    difficulty: float
    speakers: int
    utterances_per_speaker: int
    valid_speakers: int | None = None
    test_speakers: int | None = None
    label_noise: float = 0.0


@dataclass(frozen=True)
class SpeakerConfig:
    """One synthetic speaker.

    Fields:
      speaker_id: the ``speakerId`` written to the CSVs and used in the wav paths.
      voice: eSpeak NG voice name, language voice plus variant (``en-us+f3``).
      pitch, pitch_range: eSpeak base pitch and pitch range (0-100).
      rate: eSpeak speaking rate in words per minute.
      word_gap: eSpeak pause between words, in units of 10 ms.
      vtl_warp: speed warp factor; >1 shortens the vocal tract (raises formants, pitch) and speeds up.
      highpass_hz, lowpass_hz, eq_freq_hz, eq_gain_db: channel colouring (microphone and band limit).
      rt60_s, reverb_wet: light reverberation (decay time and wet mix).
      snr_db: the speaker's mean signal-to-noise ratio; utterances draw around it.
      noise_colour: white, pink or brown background noise.
      jitter: per-utterance relative jitter of rate and pitch.
    """

    speaker_id: str
    voice: str
    pitch: int
    pitch_range: int
    rate: int
    word_gap: int
    vtl_warp: float
    highpass_hz: float
    lowpass_hz: float
    eq_freq_hz: float
    eq_gain_db: float
    rt60_s: float
    reverb_wet: float
    snr_db: float
    noise_colour: str
    jitter: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)


@functools.cache
def _presets_data() -> dict[str, Any]:
    text = resources.files("crossdistill.data").joinpath(PRESETS_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def preset_names() -> tuple[str, ...]:
    """Return the names of the shipped presets."""
    return tuple(_presets_data()["presets"])


def get_preset(name: str) -> Preset:
    """Return the preset called ``name``; ``ValueError`` lists the known ones otherwise."""
    presets = _presets_data()["presets"]
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(presets)}")
    entry = presets[name]
    difficulty = float(entry["difficulty"])
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"{PRESETS_FILE}: preset {name!r} has difficulty {difficulty} outside [0, 1]")
    unknown = sorted(set(entry) - {"difficulty", "speakers", "utterances_per_speaker", "valid_speakers",
                                   "test_speakers", "label_noise"})  # fmt: skip
    if unknown:
        raise ValueError(f"{PRESETS_FILE}: preset {name!r} has unknown keys {unknown}")

    def optional_int(key: str) -> int | None:
        return None if entry.get(key) is None else int(entry[key])

    return Preset(
        name,
        difficulty,
        int(entry["speakers"]),
        int(entry["utterances_per_speaker"]),
        valid_speakers=optional_int("valid_speakers"),
        test_speakers=optional_int("test_speakers"),
        label_noise=float(entry.get("label_noise", 0.0)),
    )


def variability_ranges(difficulty: float) -> dict[str, tuple[float, float]]:
    """Return every variability range at ``difficulty`` (linear between the easy and hard ends)."""
    table = _presets_data()["variability"]
    ranges = {}
    for key, ends in table.items():
        (e_lo, e_hi), (h_lo, h_hi) = ends["easy"], ends["hard"]
        ranges[key] = (e_lo + difficulty * (h_lo - e_lo), e_hi + difficulty * (h_hi - e_hi))
    return ranges


def voice_variants() -> tuple[str, ...]:
    """The eSpeak voice variants a speaker may use, in ``presets.yaml`` order."""
    return tuple(_presets_data()["variants"])


def sample_speaker(
    rng: np.random.Generator, speaker_id: str, difficulty: float, variants: Sequence[str] | None = None
) -> SpeakerConfig:
    """Draw one speaker's voice configuration at ``difficulty``, its variant from ``variants`` (default: all)."""
    data = _presets_data()
    r = variability_ranges(difficulty)

    def uniform(key: str) -> float:
        lo, hi = r[key]
        return float(rng.uniform(lo, hi))

    voice = f"{rng.choice(data['voices'])}+{rng.choice(data['variants'] if variants is None else list(variants))}"
    lowpass = uniform("lowpass_hz")
    return SpeakerConfig(
        speaker_id=speaker_id,
        voice=voice,
        pitch=round(uniform("pitch")),
        pitch_range=round(uniform("pitch_range")),
        rate=round(uniform("rate_wpm")),
        word_gap=round(uniform("word_gap")),
        vtl_warp=round(uniform("vtl_warp"), 4),
        highpass_hz=round(uniform("highpass_hz"), 1),
        lowpass_hz=round(lowpass, 1),
        eq_freq_hz=round(float(np.exp(rng.uniform(np.log(300.0), np.log(min(4000.0, lowpass))))), 1),
        eq_gain_db=round(uniform("eq_gain_db"), 2),
        rt60_s=round(uniform("rt60_s"), 3),
        reverb_wet=round(uniform("reverb_wet"), 3),
        snr_db=round(uniform("snr_db"), 2),
        noise_colour=str(rng.choice(NOISE_COLOURS)),
        jitter=round(uniform("utterance_jitter"), 4),
    )
