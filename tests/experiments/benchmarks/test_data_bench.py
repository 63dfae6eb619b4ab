"""``crossdistill bench data``: synthesis real-time factor per engine, as JSON."""

from __future__ import annotations

import json

from crossdistill.cli import main
from crossdistill.data.engines import festival, installed_engines

TINY = ["bench", "data", "--preset", "tiny", "--utterances-per-speaker", "2", "--feature-passes", "1"]


def test_every_installed_engine_gets_its_real_time_factor(capsys):
    assert main([*TINY, "--speakers", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["engines"]) == set(installed_engines())
    for name, timing in result["engines"].items():
        assert timing["utterances"] + timing["dropped"] == 4
        assert timing["rtf"] > 0 and timing["engine_rtf"] > 0 and timing["xrt"] > 0
        assert set(timing["engine_rtf_per_voice"]) == set(timing["voices"])
        assert (timing["rtf_cpu"] is None) == (name == "festival")  # festival's CPU is another process's
    # The top-level numbers stay eSpeak's, as before engines existed.
    assert result["synthesis_audio_s"] == result["engines"]["espeak"]["audio_s"]


def test_an_engine_that_is_not_installed_is_reported_as_skipped(capsys, monkeypatch):
    monkeypatch.setattr(festival, "program", lambda: None)
    festival.installed_voices.cache_clear()
    assert main([*TINY, "--speakers", "1", "--engines", "espeak,festival"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result["engines"]) == ["espeak"] and "not installed" in result["engines_skipped"]["festival"]
