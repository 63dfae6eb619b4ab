"""Kaldi CTM files: exact round trip on whole milliseconds, and errors that name the file and line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.ctm import format_ctm, read_ctm, read_ctm_with_lines, write_ctm

labels = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ'_0123", min_size=1, max_size=6)


@st.composite
def utterance_segments(draw):
    """Segments in time order on whole milliseconds, touching or with gaps, some zero-length."""
    cursor, segments = draw(st.integers(0, 500)), []
    for _ in range(draw(st.integers(1, 12))):
        start = cursor + draw(st.integers(0, 50))
        end = start + draw(st.integers(0, 400))
        segments.append(Segment(draw(labels), start / 1000, end / 1000))
        cursor = end
    return segments


alignments = st.dictionaries(st.from_regex(r"[0-9]{1,4}-[0-9]{1,4}-[0-9]{4}", fullmatch=True), utterance_segments())


@settings(max_examples=60, deadline=None)
@given(alignments)
def test_write_then_read_gives_back_the_same_segments(tmp_path_factory, written):
    # Exact float equality: touching segments still touch, and times are the same floats as written.
    path = tmp_path_factory.mktemp("ctm") / "x.ctm"
    write_ctm(path, written)
    assert read_ctm(path) == {utt: list(segments) for utt, segments in written.items() if segments}


def test_format_is_kaldi_ctm_with_three_decimals():
    text = format_ctm({"1-2-0003": [Segment("SIL", 0.0, 0.1), Segment("HH", 0.1, 0.3333)]})
    assert text == "1-2-0003 1 0.000 0.100 SIL\n1-2-0003 1 0.100 0.233 HH\n"


def test_confidence_column_and_comments_are_accepted(tmp_path):
    path = tmp_path / "x.ctm"
    path.write_text(";; a comment\n\nu1 A 0.5 0.25 HELLO 0.97\nu1 A 0.75 0.1 WORLD\n")
    assert read_ctm_with_lines(path) == {"u1": [(3, Segment("HELLO", 0.5, 0.75)), (4, Segment("WORLD", 0.75, 0.85))]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("u1 1 0.0 0.1\n", "line 1: expected 'utt channel start duration token"),
        ("u1 1 0.0 0.1 A\nu1 1 x 0.1 B\n", "line 2: start 'x' or duration '0.1' is not a number"),
        ("u1 1 -0.1 0.1 A\n", "line 1: start and duration must be finite and >= 0"),
        ("u1 1 0.1 nan A\n", "line 1: start and duration must be finite and >= 0"),
        (
            "u1 1 0.0 0.5 A\nu2 1 0.0 0.1 C\nu1 1 0.4 0.1 B\n",
            "line 3: u1 segment 'B' starts at 0.4 s, before the segment on line 1",
        ),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.ctm"
    path.write_text(content)
    with pytest.raises(ValueError, match="bad.ctm, " + message.replace("(", r"\(").replace("[", r"\[")):
        read_ctm(path)


def test_write_refuses_bad_segments_and_leaves_the_old_file(tmp_path):
    path = tmp_path / "x.ctm"
    write_ctm(path, {"u": [Segment("A", 0.0, 1.0)]})
    for bad in (Segment("TWO WORDS", 0.0, 1.0), Segment("", 0.0, 1.0), Segment("A", 1.0, 0.5)):
        with pytest.raises(ValueError, match="u: "):
            write_ctm(path, {"u": [bad]})
    assert read_ctm(path) == {"u": [Segment("A", 0.0, 1.0)]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.ctm"]
