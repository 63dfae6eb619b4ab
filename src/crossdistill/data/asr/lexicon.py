"""Pronunciation lexicons in LibriSpeech's format: ``WORD PH1 PH2 ...`` per line.

Words are upper case (letters and apostrophes, as in normalized text); phones are from ``PHONES``. Reading
also accepts CMUdict/LibriSpeech stress digits (``AH0``) and drops them, and tabs as separators, so
``librispeech-lexicon.txt`` reads as is. A word listed twice keeps its first pronunciation (LibriSpeech
lists the most common variant first); our own lexicons have one per word.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from crossdistill.common.atomic import atomic_write_text
from crossdistill.data.asr.phones import PHONE_IDS

WORD_PATTERN = re.compile(r"[A-Z']*[A-Z][A-Z']*")
_STRESS = re.compile(r"(?<=[A-Z])[012]$")


def _phone(token: str) -> str:
    phone = _STRESS.sub("", token)
    if phone not in PHONE_IDS:
        raise ValueError(f"unknown phone {token!r}")
    return phone


def _check_word(word: str) -> None:
    if not WORD_PATTERN.fullmatch(word):
        raise ValueError(f"word {word!r} is not upper-case letters and apostrophes")


def read_lexicon(path: str | os.PathLike) -> dict[str, tuple[str, ...]]:
    """Read a lexicon into ``{WORD: phones}``; errors name the file and line."""
    path = Path(path)
    lexicon: dict[str, tuple[str, ...]] = {}
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                _check_word(fields[0])
                if len(fields) == 1:
                    raise ValueError(f"word {fields[0]!r} has no phones")
                phones = tuple(_phone(token) for token in fields[1:])
            except ValueError as error:
                raise ValueError(f"{path}, line {line_no}: {error}") from None
            lexicon.setdefault(fields[0], phones)
    if not lexicon:
        raise ValueError(f"{path}: empty lexicon")
    return lexicon


def write_lexicon(path: str | os.PathLike, lexicon: Mapping[str, Sequence[str]]) -> None:
    """Write ``lexicon`` atomically, sorted by word; words and phones are checked before anything is written."""
    lines = []
    for word in sorted(lexicon):
        phones = list(lexicon[word])
        try:
            _check_word(word)
            if not phones:
                raise ValueError(f"word {word!r} has no phones")
            for phone in phones:
                if phone not in PHONE_IDS:
                    raise ValueError(f"unknown phone {phone!r} in the pronunciation of {word!r}")
        except ValueError as error:
            raise ValueError(f"cannot write lexicon {path}: {error}") from None
        lines.append(" ".join([word, *phones]) + "\n")
    atomic_write_text(path, "".join(lines))
