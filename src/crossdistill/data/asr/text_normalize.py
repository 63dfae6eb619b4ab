"""Text normalization like LibriSpeech's LM corpus: sentences, upper case, no punctuation, numbers as words.

A normalized sentence holds only ``A-Z``, apostrophes inside words and single spaces (``NORMALIZED``).
``split_sentences`` cuts a paragraph at ``.``, ``!`` and ``?`` (not after a known abbreviation or a single
capital, an initial); ``normalize_sentence`` then rewrites one sentence:

- letters lose their accents (``É`` -> ``E``); a sentence with other scripts (Hebrew, Greek) is dropped (``""``),
  since neither the lexicon nor the synthesizer can say it;
- abbreviations are spelled out (``Mr.`` -> ``MISTER``, ``&`` -> ``AND``, ``i.e.`` -> ``THAT IS``);
- numbers become words with ``num2words``: ordinals (``3rd`` -> ``THIRD``), years 1100-2099 written without a
  comma (``1885`` -> ``EIGHTEEN EIGHTY FIVE``), other integers as cardinals (``1,000`` -> ``ONE THOUSAND``),
  decimals digit by digit (``2.75`` -> ``TWO POINT SEVEN FIVE``), over 15 digits digit by digit; a verse
  reference ``3:16`` reads ``THREE SIXTEEN``;
- apostrophes stay inside words (``DON'T``, ``GOD'S``) and go at word edges (quotes, ``BROTHERS'``);
- every other character (punctuation, hyphens, brackets, digits glued to letters) separates words.
"""

from __future__ import annotations

import re
import unicodedata

from num2words import num2words

NORMALIZED = re.compile(r"[A-Z']+( [A-Z']+)*")
MAX_CARDINAL_DIGITS = 15  # longer digit strings are read digit by digit

# Spelled out wherever they occur (lower-cased key, with its final period); they never end a sentence.
ABBREVIATIONS = {
    "mr.": "mister",
    "mrs.": "missus",
    "dr.": "doctor",
    "st.": "saint",
    "rev.": "reverend",
    "ver.": "verse",
    "ch.": "chapter",
    "chap.": "chapter",
    "cf.": "compare",
    "viz.": "namely",
    "etc.": "et cetera",
    "i.e.": "that is",
    "e.g.": "for example",
    "vol.": "volume",
}
_ABBREVIATION = re.compile(
    r"(?<![\w.])(" + "|".join(re.escape(a) for a in sorted(ABBREVIATIONS, key=len, reverse=True)) + r")(?!\w)",
    re.IGNORECASE,
)
# A sentence ends at . ! ? (and any closing quotes or brackets after it) followed by space, unless the word
# before is an abbreviation or one capital letter (an initial such as "John L. Keys"), or the text goes on in
# lower case ("“Don't!” he said").
_BOUNDARY = re.compile(r"""(?<=[.!?])["'”’)\]]*\s+""")
_INITIAL = re.compile(r"(?:^|\s)[A-Z]\.$")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "ʼ": "'", "`": "'", "´": "'"})
# An integer (commas only between groups of three digits), then a decimal part or an ordinal suffix.
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:(\.\d+)|(st|nd|rd|th)\b)?", re.IGNORECASE)
_NON_WORD = re.compile(r"[^A-Z']+")
_EDGE_APOSTROPHES = re.compile(r"(?<![A-Z])'+|'+(?![A-Z])")


def split_sentences(paragraph: str) -> list[str]:
    """Cut a paragraph of running text into sentences (the text of each, unnormalized)."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        before = paragraph[start : match.start()]
        last_word = before.rsplit(None, 1)[-1].lower() if before.split() else ""
        following = paragraph[match.end() : match.end() + 1]
        if last_word in ABBREVIATIONS or _INITIAL.search(before) or following.islower():
            continue
        sentences.append(before.strip())
        start = match.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def _digits(text: str) -> str:
    return " ".join(num2words(int(d)) for d in text)


def _number_words(match: re.Match[str]) -> str:
    digits, decimals, ordinal = match.groups()
    plain = digits.replace(",", "")
    value = int(plain)
    if len(plain) > MAX_CARDINAL_DIGITS:
        words = _digits(plain)  # a serial number, not a quantity
    elif ordinal:
        words = num2words(value, to="ordinal")
    elif 1100 <= value <= 2099 and len(digits) == 4 and not decimals:
        words = num2words(value, to="year")
    else:
        words = num2words(value)
    if decimals:
        words += " point " + _digits(decimals[1:])
    return f" {words} "


def _strip_accents(text: str) -> str | None:
    """Return ``text`` with accents removed, or None when it has letters outside the Latin alphabet."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    if any(c.isalpha() and not c.isascii() for c in kept):
        return None
    return kept


def normalize_sentence(sentence: str) -> str:
    """Return ``sentence`` normalized (see the module docstring); ``""`` when nothing sayable is left."""
    text = _strip_accents(sentence)
    if text is None:
        return ""
    text = _ABBREVIATION.sub(lambda m: f" {ABBREVIATIONS[m.group(1).lower()]} ", text)
    text = text.replace("&", " and ")
    text = _NUMBER.sub(_number_words, text)
    text = _NON_WORD.sub(" ", text.upper())
    text = _EDGE_APOSTROPHES.sub("", text)
    return " ".join(text.split())


def normalize_paragraph(paragraph: str) -> list[str]:
    """Return the normalized, non-empty sentences of a paragraph."""
    return [s for s in map(normalize_sentence, split_sentences(paragraph)) if s]
