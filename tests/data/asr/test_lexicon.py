"""Lexicon files: round trip, LibriSpeech's format, errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.asr.lexicon import read_lexicon, write_lexicon
from crossdistill.data.asr.phones import PHONES

words = st.from_regex(r"[A-Z][A-Z']{0,11}", fullmatch=True)
pronunciations = st.lists(st.sampled_from(PHONES), min_size=1, max_size=8).map(tuple)


@settings(max_examples=50, deadline=None)
@given(lexicon=st.dictionaries(words, pronunciations, min_size=1, max_size=20))
def test_round_trip(tmp_path_factory: pytest.TempPathFactory, lexicon: dict[str, tuple[str, ...]]) -> None:
    path = tmp_path_factory.mktemp("lexicon") / "lexicon.txt"
    write_lexicon(path, lexicon)
    assert read_lexicon(path) == lexicon
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines, key=lambda line: line.split()[0])


def test_reads_librispeech_format(tmp_path: Path) -> None:
    path = tmp_path / "librispeech-lexicon.txt"
    path.write_text("A\tAH0\nA\tEY1\nABANDON\tAH0 B AE1 N D AH0 N\n\nDON'T  D OW1 N T\n", encoding="utf-8")
    assert read_lexicon(path) == {
        "A": ("AH",),  # the first variant wins
        "ABANDON": ("AH", "B", "AE", "N", "D", "AH", "N"),
        "DON'T": ("D", "OW", "N", "T"),
    }


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("HELLO HH AH L OW\nWORLD W ER L Q\n", 2, "unknown phone 'Q'"),
        ("HELLO HH AH L OW\n\nWORLD\n", 3, "has no phones"),
        ("hello HH AH L OW\n", 1, "not upper-case"),
        ("HEL-LO HH AH L OW\n", 1, "not upper-case"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=rf"lexicon\.txt, line {line}: .*{message}"):
        read_lexicon(path)


def test_empty_lexicon_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty lexicon"):
        read_lexicon(path)


@pytest.mark.parametrize(
    "lexicon", [{"HELLO": ("HH", "XX")}, {"hello": ("HH",)}, {"HELLO": ()}], ids=["phone", "word", "empty"]
)
def test_write_checks_before_writing(tmp_path: Path, lexicon: dict[str, tuple[str, ...]]) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_text("OLD OW L D\n", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot write lexicon"):
        write_lexicon(path, {"GOOD": ("G", "UH", "D"), **lexicon})
    assert path.read_text(encoding="utf-8") == "OLD OW L D\n"
