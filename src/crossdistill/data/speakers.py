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
ESPEAK = "espeak"  # crossdistill.data.engines.ESPEAK (not imported: the engines import this layer's neighbours)
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
    """One synthetic speaker: an (engine, voice, variant) triple and how it speaks and is recorded.

    Fields:
      speaker_id: the ``speakerId`` written to the CSVs and used in the wav paths.
      voice: the engine's voice: for eSpeak NG the language voice plus variant (``en-us+f3``), for flite and
        festival a voice name (``slt``, ``kal_diphone``), which has no variants.
      pitch, pitch_range: eSpeak base pitch and pitch range (0-100).
      rate: eSpeak speaking rate in words per minute.
      word_gap: eSpeak pause between words, in units of 10 ms.
      vtl_warp: speed warp factor; >1 shortens the vocal tract (raises formants, pitch) and speeds up.
      highpass_hz, lowpass_hz, eq_freq_hz, eq_gain_db: channel colouring (microphone and band limit).
      rt60_s, reverb_wet: light reverberation (decay time and wet mix).
      snr_db: the speaker's mean signal-to-noise ratio; utterances draw around it.
      noise_colour: white, pink or brown background noise.
      jitter: per-utterance relative jitter of rate and pitch.
      engine: the synthesis engine (``crossdistill.data.engines``); the eSpeak-scale pitch and rate above map
        onto each engine's own controls (``engines.base.Prosody``).
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
    engine: str = ESPEAK

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (an eSpeak speaker's without ``engine``, as written before engines existed)."""
        record = asdict(self)
        if self.engine == ESPEAK:
            del record["engine"]
        return record

    @property
    def voice_id(self) -> str:
        """The voice as one name across engines: eSpeak's ``en-us+m3`` as is, others ``engine:voice``."""
        return self.voice if self.engine == ESPEAK else f"{self.engine}:{self.voice}"


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
    rng: np.random.Generator,
    speaker_id: str,
    difficulty: float,
    variants: Sequence[str] | None = None,
    engine: str = ESPEAK,
    voices: Sequence[str] = (),
) -> SpeakerConfig:
    """Draw one speaker's voice configuration at ``difficulty``.

    An eSpeak speaker draws a language voice and a variant from ``variants`` (default: all of ``presets.yaml``);
    another engine's speaker draws one of ``voices`` (that engine's). The other draws are the same for every
    engine, so an eSpeak speaker is drawn exactly as before engines existed.
    """
    data = _presets_data()
    r = variability_ranges(difficulty)

    def uniform(key: str) -> float:
        lo, hi = r[key]
        return float(rng.uniform(lo, hi))

    if engine == ESPEAK:
        voice = f"{rng.choice(data['voices'])}+{rng.choice(data['variants'] if variants is None else list(variants))}"
    elif voices:
        voice = str(rng.choice(list(voices)))
    else:
        raise ValueError(f"engine {engine!r}: no voice to draw from")
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
        engine=engine,
    )


def engine_timbres(engine_voices: dict[str, Sequence[str]]) -> tuple[str, ...]:
    """What the unseen-speaker split partitions: eSpeak's voice variants and every other engine's voices
    (``engine:voice``), for the engines of ``engine_voices`` (eSpeak alone: exactly ``voice_variants()``)."""
    timbres: list[str] = []
    for engine, voices in engine_voices.items():
        timbres += list(voice_variants()) if engine == ESPEAK else [f"{engine}:{voice}" for voice in voices]
    return tuple(timbres)


def draw_speaker(
    engine_rng: np.random.Generator,
    rng: np.random.Generator,
    speaker_id: str,
    difficulty: float,
    engine_voices: dict[str, Sequence[str]],
    timbres: Sequence[str] | None = None,
) -> SpeakerConfig:
    """Draw a speaker's engine (uniformly, from ``engine_rng``, among the engines with a voice it may use) and then
    its voice configuration (``sample_speaker`` with ``rng``).

    ``engine_voices``: the usable engines and their voices (eSpeak's: ``presets.yaml``). ``timbres``: what the
    speaker may sound like (``engine_timbres`` items; None: anything). With eSpeak alone ``engine_rng`` is not used
    and the speaker is the one ``sample_speaker(rng, ...)`` drew before engines existed.
    """
    choices: dict[str, list[str]] = {}
    for engine, voices in engine_voices.items():
        if engine == ESPEAK:
            own = [t for t in (voice_variants() if timbres is None else timbres) if ":" not in t]
        else:
            own = [v for v in voices if timbres is None or f"{engine}:{v}" in timbres]
        if own:
            choices[engine] = own
    if not choices:
        raise ValueError(f"speaker {speaker_id}: no engine has a voice it may use ({list(timbres or [])})")
    engines = list(choices)
    engine = engines[0] if len(engines) == 1 else str(engine_rng.choice(engines))
    if engine == ESPEAK:
        return sample_speaker(rng, speaker_id, difficulty, None if timbres is None else choices[engine])
    return sample_speaker(rng, speaker_id, difficulty, engine=engine, voices=choices[engine])
