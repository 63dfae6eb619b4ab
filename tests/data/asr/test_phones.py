"""The phone set and the eSpeak -> ARPAbet table: every phoneme eSpeak produces maps into PHONES."""

from __future__ import annotations

import pytest

from crossdistill.data.alignments import strip_stress
from crossdistill.data.asr.phones import (
    ARPABET,
    ESPEAK_TO_ARPABET,
    PHONES,
    SILENCE,
    SPOKEN_NOISE,
    espeak_sequence_to_arpabet,
    espeak_to_arpabet,
)
from crossdistill.data.espeak import ESpeak

# Words whose pronunciations exercise the rarer eSpeak phonemes (glottal stop, syllabic n, linking r, glide,
# French nasals, velar fricative, flap, r-coloured vowels).
RARE_WORDS_TEXT = (
    "baaaaaaz button shorten filtering acreage israel aaliyah croissant denouement bach ahmed water little hour fire "
    "iron pariah aisle lithium hear tour poor there more lord bath staff cloth orange tolkien wii llana unto "
    "additional bible rhythm measure vision thing judge church"
)
RARE_WORDS = RARE_WORDS_TEXT.split()
SENTENCES = (
    "the hour of the evening came upon the old city",
    "he said unto them that it is an abomination to the lord",
    "a quick brown fox jumps over the lazy dog while the water is running",
    "there are four of them in the little garden of israel",
)


def test_phone_set_is_the_papers_41() -> None:
    assert len(PHONES) == 41 == len(set(PHONES))
    assert PHONES.index(SILENCE) == 39 and PHONES.index(SPOKEN_NOISE) == 40
    assert set(ARPABET) == {p for p in PHONES if p not in (SILENCE, SPOKEN_NOISE)}


def test_table_targets_are_arpabet_and_nonempty() -> None:
    for name, phones in ESPEAK_TO_ARPABET.items():
        assert 1 <= len(phones) <= 3, name
        assert set(phones) <= set(ARPABET), name


def test_pauses_map_to_nothing_and_unknown_names_raise() -> None:
    for pause in ("_", "_:", "_!", "_|"):
        assert espeak_to_arpabet(pause) == ()
    with pytest.raises(ValueError, match="'Q\\^'"):
        espeak_to_arpabet("Q^")
    assert espeak_to_arpabet("@L") == ("AH", "L")
    assert espeak_to_arpabet("tS") == ("CH",)
    # eSpeak's length mark on repeated letters ("baaaaaaz": b 'a: a#: ,a: z; "wii": w 'i::).
    assert espeak_to_arpabet("a:") == ("AE",) and espeak_to_arpabet("a#:") == ("AH",)
    assert espeak_to_arpabet("A::") == ("AA",) and espeak_to_arpabet("i::") == ("IY",)
    with pytest.raises(ValueError, match="'Q:'"):
        espeak_to_arpabet("Q:")


def test_every_phoneme_of_words_said_alone_maps() -> None:
    espeak = ESpeak.get()
    espeak.set_voice("en-us")
    names = {strip_stress(n) for word in RARE_WORDS for n in espeak.phonemize_word(word)}
    assert {"?", "n-", "r-", ";", "A~", "x", "t#", "aI3", "i@3", "a:"} <= names  # the words do reach the rare ones
    for name in names:
        espeak_to_arpabet(name)


def test_every_phoneme_event_of_synthesis_maps() -> None:
    espeak = ESpeak.get()
    espeak.set_voice("en-us")
    names = {strip_stress(e.name) for sentence in SENTENCES for e in espeak.synthesize(sentence).phonemes}
    assert "@2" in names and "_:" in names
    for name in names:
        espeak_to_arpabet(name)


def test_r_after_an_r_coloured_vowel_adds_no_phone() -> None:
    # glory: g l o@ r i ; Jerusalem: dZ 3 r u: ... ; "four of" in running speech: f o@ r V v
    assert espeak_sequence_to_arpabet(["g", "l", "o@", "r", "i"]) == [("G",), ("L",), ("AO", "R"), (), ("IY",)]
    assert espeak_sequence_to_arpabet(["dZ", "3", "r", "u:"]) == [("JH",), ("ER",), (), ("UW",)]
    assert espeak_sequence_to_arpabet(["3", "r-", "I"]) == [("ER",), (), ("IH",)]
    # A pause resets the context; an r elsewhere is an R.
    assert espeak_sequence_to_arpabet(["o@", "_", "r", "eI"]) == [("AO", "R"), (), ("R",), ("EY",)]
    assert espeak_sequence_to_arpabet(["E", "r", "3"]) == [("EH",), ("R",), ("ER",)]  # error
    with pytest.raises(ValueError, match="'Q'"):
        espeak_sequence_to_arpabet(["a", "Q"])
