"""Shared checks of an engine's output, and skip reasons for engines that are not installed."""

from __future__ import annotations

import numpy as np
import pytest

from crossdistill.data.alignments import transcription_words
from crossdistill.data.engines import expected_rate


def check_synthesis(synthesis, engine: str, voice: str, text: str) -> None:
    """What every engine promises: int16 mono audio at the voice's rate, words that spell the text, phones in time
    order inside the audio, each word covering its phones."""
    assert synthesis.audio.dtype == np.int16 and synthesis.audio.ndim == 1 and synthesis.audio.size > 0
    assert np.abs(synthesis.audio).max() > 1000  # speech, not silence
    assert synthesis.sample_rate == expected_rate(engine, voice)
    assert [w for w, _, _ in synthesis.words] == transcription_words(text)
    n = synthesis.audio.shape[0]
    for segments in (synthesis.words, synthesis.phones):
        ends = [0] + [e for _, _, e in segments]
        for (_, start, end), previous_end in zip(segments, ends, strict=False):
            assert previous_end <= start < end <= n
    for _, start, end in synthesis.words:
        assert any(start == s for _, s, _ in synthesis.phones) and any(end == e for _, _, e in synthesis.phones)


@pytest.fixture
def engine_check():
    """``check_synthesis`` for tests (test modules cannot import this conftest under importlib mode)."""
    return check_synthesis
