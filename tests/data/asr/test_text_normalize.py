"""Normalization like LibriSpeech's LM corpus: examples and the output alphabet as a property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdistill.data.asr.text_normalize import NORMALIZED, normalize_paragraph, normalize_sentence, split_sentences


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("In 1885 he wrote 1,000 pages.", "IN EIGHTEEN EIGHTY FIVE HE WROTE ONE THOUSAND PAGES"),
        ("The 3rd and 21st days, 2.75 miles", "THE THIRD AND TWENTY FIRST DAYS TWO POINT SEVEN FIVE MILES"),
        ("No. 1234567890123456", "NO ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE ZERO ONE TWO THREE FOUR FIVE SIX"),
        ("See John 3:16 and verses 1,2.", "SEE JOHN THREE SIXTEEN AND VERSES ONE TWO"),
        ("He had 105 sheep and 7000 goats", "HE HAD ONE HUNDRED AND FIVE SHEEP AND SEVEN THOUSAND GOATS"),
        ("“Don’t!” said God’s servant; the brothers’ “tents”—'tis well-being.",
         "DON'T SAID GOD'S SERVANT THE BROTHERS TENTS TIS WELL BEING"),
        ("Mr. Smith & Dr. Jones, i.e. two men (etc.)", "MISTER SMITH AND DOCTOR JONES THAT IS TWO MEN ET CETERA"),
        ("Café naïve Élie", "CAFE NAIVE ELIE"),
        ("The word אב means father", ""),
        ("C++ /dev/null [sic] {live}", "C DEV NULL SIC LIVE"),
        ("'' -- ...", ""),
    ],
)  # fmt: skip
def test_normalize_sentence(raw: str, expected: str) -> None:
    assert normalize_sentence(raw) == expected


def test_split_sentences() -> None:
    paragraph = "Mr. John L. Keys came. “Who are you?” he asked. Then he left! The end? It was 5 p.m. on the 3rd."
    assert split_sentences(paragraph) == [
        "Mr. John L. Keys came.",
        "“Who are you?” he asked.",
        "Then he left!",
        "The end?",
        "It was 5 p.m. on the 3rd.",
    ]


def test_normalize_paragraph_drops_empty_sentences() -> None:
    assert normalize_paragraph("1. The Lord is my shepherd. ... אב.") == ["ONE", "THE LORD IS MY SHEPHERD"]


@given(st.text(max_size=200))
def test_output_is_upper_case_letters_apostrophes_and_single_spaces(raw: str) -> None:
    normalized = normalize_sentence(raw)
    assert normalized == "" or NORMALIZED.fullmatch(normalized)
    assert all(word.strip("'") == word and "''" not in word for word in normalized.split())
    for sentence in normalize_paragraph(raw):
        assert NORMALIZED.fullmatch(sentence)
