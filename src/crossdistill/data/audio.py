"""Reading audio as 16 kHz mono float32, converting other formats on read (never rewriting the source)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import soundfile
import soxr

SAMPLE_RATE = 16000

logger = logging.getLogger(__name__)
_warned_conversion = False


def read_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Return the audio at ``path`` as a float32 mono array at ``sample_rate``.

    Multi-channel audio is averaged to mono and other rates are resampled with soxr; the first such
    conversion is noted once per process (:func:`note_conversion`), since it costs time on every read (the file
    stays as it is).
    """
    audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    if audio.shape[1] != 1 or rate != sample_rate:
        note_conversion(
            f"{Path(path).name} is {describe_format(rate, audio.shape[1])}; converting to {sample_rate} Hz mono on "
            "read (said once; the source files are not modified)"
        )
    mono = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def note_conversion(message: str) -> None:
    """Log ``message`` (a warning that audio is converted on read) unless this process has noted a conversion."""
    global _warned_conversion
    if not _warned_conversion:
        _warned_conversion = True
        logger.warning(message)


def describe_format(rate: int, channels: int) -> str:
    return f"{rate} Hz {'mono' if channels == 1 else f'with {channels} channels'}"


def conversion_note(formats: Mapping[tuple[int, int], int], sample_rate: int = SAMPLE_RATE) -> str | None:
    """A note on the files that are not ``sample_rate`` mono, from ``{(rate, channels): file count}``; None if all
    are."""
    other = {fmt: n for fmt, n in sorted(formats.items()) if fmt != (sample_rate, 1)}
    if not other:
        return None
    listed = ", ".join(f"{n} at {describe_format(*fmt)}" for fmt, n in other.items())
    return (
        f"{sum(other.values())} of {sum(formats.values())} audio files are not {sample_rate} Hz mono ({listed}); "
        "they are converted on every read (the source files are not modified)"
    )
