"""G2P: eSpeak NG en-us pronunciations in ARPAbet."""

from __future__ import annotations

import pytest

from crossdistill.data.asr.g2p import phonemize
from crossdistill.data.asr.phones import ARPABET


def test_known_pronunciations() -> None:
    lexicon = phonemize(["HELLO", "BUTTON", "CHURCH", "THING", "DON'T", "MEASURE", "GLORY", "JERUSALEM"])
    assert lexicon == {
        "HELLO": ("HH", "AH", "L", "OW"),
        "BUTTON": ("B", "AH", "T", "AH", "N"),
        "CHURCH": ("CH", "ER", "CH"),
        "THING": ("TH", "IH", "NG"),
        "DON'T": ("D", "OW", "N", "T"),
        "MEASURE": ("M", "EH", "ZH", "ER"),
        "GLORY": ("G", "L", "AO", "R", "IY"),  # eSpeak: g l o@ r i
        "JERUSALEM": ("JH", "ER", "UW", "S", "AH", "L", "AH", "M"),  # eSpeak: dZ 3 r u: s @ l @ m
    }


def test_case_does_not_matter_and_keys_are_the_words_given() -> None:
    upper = phonemize(["US", "IT", "LORD"])
    lower = phonemize(["us", "it", "lord"])
    assert list(upper) == ["US", "IT", "LORD"]
    # eSpeak spells all-capital "US" and "IT" as abbreviations; the pronoun is meant.
    assert upper["US"] == lower["us"] == ("AH", "S")
    assert upper["IT"] == lower["it"] == ("IH", "T")
    assert upper["LORD"] == lower["lord"] == ("L", "AO", "R", "D")


def test_every_phone_is_arpabet() -> None:
    text = "IN THE BEGINNING GOD CREATED THE HEAVEN AND THE EARTH AND THE EARTH WAS WITHOUT FORM"
    words = text.split()
    lexicon = phonemize(words)
    assert set(lexicon) == set(words)
    assert all(phones and set(phones) <= set(ARPABET) for phones in lexicon.values())


def test_a_word_without_phones_is_an_error() -> None:
    with pytest.raises(ValueError, match="no phone for the word"):
        phonemize(["'"])


def test_every_phoneme_of_the_sample_text_maps() -> None:
    """The whole vocabulary of the shipped sample phonemizes, and synthesis of its sentences maps too."""
    from crossdistill.data.alignments import strip_stress
    from crossdistill.data.asr.phones import espeak_to_arpabet
    from crossdistill.data.asr.text import SPLITS, load_text_splits
    from crossdistill.data.espeak import ESpeak

    splits = load_text_splits("sample", seed=0)
    sentences = [s for part in SPLITS for s in getattr(splits, part)]
    vocabulary = sorted({w for s in sentences for w in s.split()})
    lexicon = phonemize(vocabulary)  # raises on a phoneme the table lacks
    assert len(lexicon) == len(vocabulary) > 3000
    espeak = ESpeak.get()
    espeak.set_voice("en-us")
    names = set()
    for sentence in sentences[::25]:
        names.update(strip_stress(e.name) for e in espeak.synthesize(sentence.lower()).phonemes)
    assert len(names) > 40
    for name in names:
        espeak_to_arpabet(name)
