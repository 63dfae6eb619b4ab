"""The engine registry: parsing --engines, skipping engines and voices that are not installed."""

from __future__ import annotations

import logging

import pytest

from crossdistill.data import engines
from crossdistill.data.engines import festival, flite


def test_parse_engines_orders_and_expands():
    assert engines.parse_engines(None) == ("espeak",)
    assert engines.parse_engines("festival, espeak") == ("espeak", "festival")
    assert engines.parse_engines(["flite"]) == ("flite",)
    assert engines.parse_engines("all") == ("espeak", "flite", "festival")


@pytest.mark.parametrize("value", ["espeak,mbrola", "", " , "])
def test_parse_engines_names_the_option(value):
    with pytest.raises(ValueError, match="--engines"):
        engines.parse_engines(value)


def test_default_selection_records_nothing():
    selection = engines.resolve_engines(("espeak",))
    assert selection.is_default and selection.options() == {} and selection.skipped == {}


def _no_festival(monkeypatch):
    monkeypatch.setattr(festival, "program", lambda: None)
    festival.installed_voices.cache_clear()


def test_missing_festival_is_skipped_with_one_note(monkeypatch, caplog):
    _no_festival(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="crossdistill.data.engines"):
        selection = engines.resolve_engines(("espeak", "festival"))
    assert selection.engines == ("espeak",)
    assert "not installed" in selection.skipped["festival"]
    assert [r.getMessage() for r in caplog.records] == [
        f"synthesis engine festival skipped: {selection.skipped['festival']}"
    ]
    # Recorded in the options, so a corpus made without festival is never taken for one made with it.
    assert selection.options() == {"engines": {"espeak": []}}


def test_missing_flite_library_and_voice(monkeypatch):
    def no_library(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(flite, "load_library", no_library)
    assert set(flite.missing_voices(flite.VOICES)) == set(flite.VOICES)
    with pytest.raises(ValueError, match="none is installed"):
        engines.resolve_engines(("flite",))


def test_missing_single_voice_is_skipped(monkeypatch):
    real = flite.load_library

    def without_awb(name):
        if name == flite.voice_library("awb"):
            raise OSError("no awb")
        return real(name)

    if flite.missing_voices(flite.VOICES):
        pytest.skip("flite is not installed here (Debian package flite)")
    monkeypatch.setattr(flite, "load_library", without_awb)
    selection = engines.resolve_engines(("flite",))
    assert "awb" not in selection.voices["flite"] and "flite:awb" in selection.skipped


def test_every_engine_opens_or_says_why():
    for name in engines.ENGINE_NAMES:
        module = {"espeak": engines.espeak, "flite": flite, "festival": festival}[name]
        if module.missing_voices(getattr(module, "VOICES", ())):
            with pytest.raises(engines.EngineUnavailable):
                engines.open_engine.__wrapped__(name)
        else:
            assert engines.open_engine(name).name == name
