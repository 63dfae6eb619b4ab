"""festival over a pipe: every voice says a command with word and phone timings; failures skip one text."""

from __future__ import annotations

import numpy as np
import pytest

from crossdistill.data.engines import festival
from crossdistill.data.engines.base import Prosody, SynthesisError

pytestmark = pytest.mark.skipif(
    bool(festival.missing_voices(festival.VOICES)),
    reason="festival or one of its voices is not installed (Debian packages festival festvox-kallpc16k "
    "festvox-kdlpc16k festvox-us-slt-hts; scripts/install-system-packages.sh)",
)
TEXT = "Could you turn on the lights in the kitchen, please?"
PLAIN = Prosody(175, 50, 50, 0, 0)


@pytest.fixture(scope="module")
def engine():
    opened = festival.FestivalEngine()
    yield opened
    opened.close()


@pytest.mark.parametrize("voice", festival.VOICES)
def test_every_voice_says_the_text_with_timings(engine, engine_check, voice):
    engine_check(engine.synthesize(TEXT, voice, PLAIN), "festival", voice, TEXT)


@pytest.mark.parametrize("voice", festival.VOICES)
def test_slower_speech_is_longer_and_deterministic(engine, voice):
    plain = engine.synthesize(TEXT, voice, PLAIN)
    slow = engine.synthesize(TEXT, voice, Prosody(120, 50, 50, 0, 0))
    assert slow.audio.shape[0] > 1.2 * plain.audio.shape[0]
    assert np.array_equal(engine.synthesize(TEXT, voice, PLAIN).audio, plain.audio)


def test_a_failing_text_raises_and_the_next_one_works(engine):
    with pytest.raises(SynthesisError, match="do not match"):  # festival says the backslash as a word
        engine.synthesize('turn "on" \\ the lights', "kal_diphone", PLAIN)
    engine._process.kill()  # a festival that died is restarted for the next text
    engine._process.wait()
    assert engine.synthesize("lights on", "kal_diphone", PLAIN).words[0][0] == "lights"
