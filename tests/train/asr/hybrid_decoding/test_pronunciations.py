"""Pronunciation variants learned from aligned words: kept when seen often enough, and found by the search."""

from __future__ import annotations

import numpy as np
import pytest

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.alignments import AsrAlignment
from crossdistill.train.asr.hybrid_decoding.pronunciations import learn_variants, word_pronunciations
from crossdistill.train.asr.hybrid_decoding.search import LexiconSearch
from crossdistill.train.asr.hybrid_decoding.tokens import TOKENS, spell

from .conftest import peaked_scores

LEXICON = {"TO": ("T", "UW"), "GO": ("G", "OW"), "HOME": ("HH", "OW", "M")}


def aligned(*words: tuple[str, tuple[str, ...]]) -> AsrAlignment:
    """Words one after another, 0.1 s per phone, a short silence after each word."""
    word_segments, phone_segments, t = [], [], 0.0
    for label, phones in words:
        start = t
        for phone in phones:
            phone_segments.append(Segment(phone, round(t, 3), round(t + 0.1, 3)))
            t += 0.1
        word_segments.append(Segment(label, round(start, 3), round(t, 3)))
        phone_segments.append(Segment("SIL", round(t, 3), round(t + 0.05, 3)))
        t += 0.05
    return AsrAlignment(tuple(word_segments), tuple(phone_segments))


def test_phones_of_each_word_are_those_whose_midpoint_it_holds():
    alignment = aligned(("TO", ("T", "AH")), ("GO", ("G", "OW")))
    assert word_pronunciations(alignment) == [("TO", ("T", "AH")), ("GO", ("G", "OW"))]


def test_variants_need_the_count_and_the_share():
    alignments = {
        "a": aligned(("TO", ("T", "AH")), ("GO", ("G", "OW")), ("HOME", ("HH", "AO", "M"))),
        "b": aligned(("TO", ("T", "AH")), ("GO", ("G", "AH"))),
        "c": aligned(("TO", ("T", "UW")), ("UNKNOWN", ("AH",))),
    }
    variants = learn_variants(alignments, LEXICON, min_count=2, min_share=0.5)
    # TO: T AH twice of three (kept); GO: G AH once (too rare); HOME: once; UNKNOWN is not in the lexicon.
    assert variants == {"TO": [("T", "AH")]}
    assert learn_variants(alignments, LEXICON, min_count=1, min_share=0.5) == {
        "GO": [("G", "AH")],
        "HOME": [("HH", "AO", "M")],
        "TO": [("T", "AH")],
    }
    assert learn_variants(alignments, LEXICON, min_count=2, min_share=0.7) == {}
    with pytest.raises(ValueError, match="min_count"):
        learn_variants(alignments, LEXICON, min_count=0)


def test_the_search_finds_a_word_said_as_its_variant():
    # "TO" said T AH with a long AH: without the variant, "A" (AH) explains more frames than TO (T UW).
    lexicon = {**LEXICON, "A": ("AH",)}
    t_states, ah_states = spell(["T"]), spell(["AH"])
    silence = [TOKENS.index("SIL")] * 2
    columns = silence + t_states + [t for t in ah_states for _ in range(3)] + silence
    emissions = peaked_scores(columns, len(TOKENS)).astype(np.float32)
    assert "TO" not in LexiconSearch(lexicon, None).decode(emissions)
    assert LexiconSearch(lexicon, None, variants={"TO": [("T", "AH")]}).decode(emissions) == ["TO"]
    with pytest.raises(ValueError, match=r"not in the lexicon, e\.g\. FLY"):
        LexiconSearch(LEXICON, None, variants={"FLY": [("F", "L", "AY")]})
