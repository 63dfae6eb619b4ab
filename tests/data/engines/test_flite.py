"""flite through its C API: every voice says a command with word and phone timings; prosody; determinism."""

from __future__ import annotations

import numpy as np
import pytest

from crossdistill.data.engines import flite
from crossdistill.data.engines.base import Prosody

pytestmark = pytest.mark.skipif(
    bool(flite.missing_voices(flite.VOICES)),
    reason="flite or one of its voices is not installed (Debian package flite; scripts/install-system-packages.sh)",
)
TEXT = "Could you turn on the lights in the kitchen, please?"
PLAIN = Prosody(175, 50, 50, 0, 0)


@pytest.fixture(scope="module")
def engine():
    return flite.FliteEngine()


@pytest.mark.parametrize("voice", flite.VOICES)
def test_every_voice_says_the_text_with_timings(engine, engine_check, voice):
    engine_check(engine.synthesize(TEXT, voice, PLAIN), "flite", voice, TEXT)


def test_rate_and_pitch_change_the_audio_and_nothing_carries_over(engine):
    plain = engine.synthesize(TEXT, "slt", PLAIN)
    slow = engine.synthesize(TEXT, "slt", Prosody(120, 50, 50, 0, 0))
    high = engine.synthesize(TEXT, "slt", Prosody(175, 80, 50, 0, 0))
    assert slow.audio.shape[0] > 1.3 * plain.audio.shape[0]
    assert high.audio.shape == plain.audio.shape and not np.array_equal(high.audio, plain.audio)
    again = engine.synthesize(TEXT, "slt", PLAIN)
    assert np.array_equal(again.audio, plain.audio) and again.phones == plain.phones
