"""Reading audio as 16 kHz mono float32, converting other formats on read (never rewriting the source)."""

from __future__ import annotations

import logging
import os
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
    conversion is logged once per process, since it costs time on every read (the file stays as it is).
    """
    global _warned_conversion
    audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    needs_conversion = audio.shape[1] != 1 or rate != sample_rate
    if needs_conversion and not _warned_conversion:
        _warned_conversion = True
        logger.warning(
            "%s is %d Hz with %d channel(s); converting to %d Hz mono on read "
            "(said once; the source files are not modified)",
            Path(path).name,
            rate,
            audio.shape[1],
            sample_rate,
        )
    mono = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)
