"""What every synthesis engine gives and takes: one text in, 16-bit audio and its timings out.

An engine says ``text`` with one of its voices and a ``Prosody`` (on eSpeak NG's scales, which each engine maps
onto its own controls) and returns an ``EngineSynthesis``: mono int16 audio at the engine's own rate, the words
(labelled with ``transcription_words(text)``, so they spell the transcription) and the phones, each as
``(label, start sample, end sample)`` in time order without overlaps. Pauses carry no segment. Phone labels are
in the engine's phone set (``phone_set``): ``espeak`` (eSpeak NG names, stress marks removed) or ``cmu`` (the
CMU/radio set of flite's and festival's US voices); ``crossdistill.data.engines.phones`` maps them onto the
project's sets.

``SynthesisError``: a voice failed on one text (the caller skips that utterance and records why).
``EngineUnavailable``: an engine or voice is not installed here (the caller skips it with one note).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from crossdistill.data.alignments import transcription_words

ESPEAK_DEFAULT_RATE_WPM = 175  # eSpeak NG's default speaking rate: an engine's own default speed maps to it
PITCH_MIDDLE = 50  # eSpeak's pitch and pitch range scales run 0-100; 50 maps to a voice's own pitch


class SynthesisError(ValueError):
    """A voice could not say one text (empty audio, an engine error, words that do not match the text)."""


class EngineUnavailable(RuntimeError):
    """An engine, or one of its voices, is not installed on this machine."""


@dataclass(frozen=True)
class Prosody:
    """How to say one utterance, on eSpeak NG's scales.

    Fields:
      rate_wpm: speaking rate in words per minute (eSpeak's default is 175; others scale durations by 175 / rate).
      pitch: base pitch 0-100 (50: the voice's own).
      pitch_range: pitch range 0-100 (50: the voice's own).
      word_gap: extra pause between words, units of 10 ms (eSpeak only).
      seed: the engine's own noise generator's seed (eSpeak's breathy voices, flite's clustergen excitation;
        festival, deterministic, ignores it).
    """

    rate_wpm: int
    pitch: int
    pitch_range: int
    word_gap: int
    seed: int

    @property
    def duration_stretch(self) -> float:
        """Durations relative to the voice's own: 175 wpm gives 1.0, faster speech less."""
        return ESPEAK_DEFAULT_RATE_WPM / self.rate_wpm

    @property
    def pitch_factor(self) -> float:
        """F0 multiplier for engines with a relative pitch control: half an octave down (0) to half up (100)."""
        return float(2.0 ** ((self.pitch - PITCH_MIDDLE) / (2 * PITCH_MIDDLE)))


Timed = tuple[str, int, int]  # (label, start sample, end sample)


@dataclass(frozen=True)
class EngineSynthesis:
    """One text said by one voice: audio (int16, mono), its rate, and word and phone segments in its samples."""

    audio: np.ndarray
    sample_rate: int
    words: tuple[Timed, ...]
    phones: tuple[Timed, ...]
    phone_set: str


class Engine(Protocol):
    """A synthesis engine opened in this process."""

    name: str

    def synthesize(self, text: str, voice: str, prosody: Prosody) -> EngineSynthesis:
        """Say ``text`` with ``voice``; raises ``SynthesisError`` when the voice fails on it."""
        ...


def segments_from_tokens(
    text: str,
    phones: Sequence[tuple[str, float, int | None]],
    token_names: Sequence[str],
    sample_rate: int,
    n_samples: int,
    silences: frozenset[str],
) -> tuple[tuple[Timed, ...], tuple[Timed, ...]]:
    """Word and phone segments from an engine's Segment relation (flite and festival).

    Args:
      text: what was said.
      phones: every segment in order: ``(name, end in seconds, index of its token or None for a pause)``; a
        segment starts where the one before it ends (the first at 0).
      token_names: the engine's tokens (whitespace-separated words, punctuation removed), by index.
      sample_rate, n_samples: the audio's rate and length (times past its end are clipped to it).
      silences: pause phone names (no segment).

    Raises ``SynthesisError`` when the tokens that carry phones do not spell ``transcription_words(text)``.
    """
    expected = transcription_words(text)

    def sample(seconds: float) -> int:
        return min(max(round(seconds * sample_rate), 0), n_samples)

    phone_segments: list[Timed] = []
    word_runs: list[list] = []  # [token index, start, end]
    start = 0
    for name, end_s, token in phones:
        end = sample(end_s)
        if name not in silences and token is not None and end > start:
            phone_segments.append((name, start, end))
            if word_runs and word_runs[-1][0] == token:
                word_runs[-1][2] = end
            else:
                word_runs.append([token, start, end])
        start = max(start, end)
    spoken = [token_names[token].lower().strip("'") for token, _, _ in word_runs]
    if spoken != expected:
        raise SynthesisError(f"the engine's words {spoken} do not match the text's {expected}")
    if not phone_segments:
        raise SynthesisError("the engine gave no phones")
    words = tuple((label, s, e) for label, (_, s, e) in zip(expected, word_runs, strict=True))
    return words, tuple(phone_segments)
