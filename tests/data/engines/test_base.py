"""Word and phone segments from an engine's Segment relation."""

from __future__ import annotations

import pytest

from crossdistill.data.engines.base import Prosody, SynthesisError, segments_from_tokens

PAUSES = frozenset({"pau"})


def test_segments_follow_tokens_and_skip_pauses():
    phones = [("pau", 0.1, None), ("t", 0.2, 0), ("er", 0.3, 0), ("n", 0.35, 0), ("pau", 0.4, None),
              ("aa", 0.5, 1), ("n", 0.7, 1), ("pau", 0.9, None)]  # fmt: skip
    words, segments = segments_from_tokens("Turn, on!", phones, ["Turn", "on"], 100, 80, PAUSES)
    assert words == (("turn", 10, 35), ("on", 40, 70))
    assert segments == (("t", 10, 20), ("er", 20, 30), ("n", 30, 35), ("aa", 40, 50), ("n", 50, 70))


def test_times_past_the_audio_are_clipped():
    words, segments = segments_from_tokens("on", [("aa", 0.5, 0), ("n", 1.2, 0)], ["on"], 100, 90, PAUSES)
    assert words == (("on", 0, 90),) and segments[-1] == ("n", 50, 90)


def test_tokens_that_do_not_spell_the_text_raise():
    with pytest.raises(SynthesisError, match="do not match"):
        segments_from_tokens("turn on", [("t", 0.1, 0), ("aa", 0.2, 1)], ["turn", "off"], 100, 100, PAUSES)
    with pytest.raises(SynthesisError, match="do not match"):  # a word without phones
        segments_from_tokens("turn on", [("t", 0.1, 0), ("pau", 0.2, None)], ["turn", "on"], 100, 100, PAUSES)


def test_prosody_maps_espeak_scales():
    assert Prosody(175, 50, 50, 0, 0).duration_stretch == 1.0
    assert Prosody(350, 50, 50, 0, 0).duration_stretch == 0.5
    assert Prosody(175, 50, 50, 0, 0).pitch_factor == 1.0
    assert Prosody(175, 100, 50, 0, 0).pitch_factor == pytest.approx(2**0.5)
