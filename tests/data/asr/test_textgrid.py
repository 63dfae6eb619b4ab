"""Montreal Forced Aligner TextGrids through praatio."""

from __future__ import annotations

import pytest

from crossdistill.data.alignments import Segment
from crossdistill.data.asr.textgrid import read_textgrid, write_textgrid

WORDS = [Segment("hello", 0.12, 0.43), Segment("world", 0.5, 0.81)]
PHONES = [Segment("SIL", 0.0, 0.12), Segment("HH", 0.12, 0.2), Segment("AH0", 0.2, 0.43), Segment("W", 0.5, 0.81)]


def test_write_then_read_keeps_labelled_segments_and_drops_silence(tmp_path):
    path = tmp_path / "1-2-0003.TextGrid"
    write_textgrid(path, WORDS, PHONES, 1.0)
    grid = read_textgrid(path)
    assert grid.words == WORDS
    assert grid.phones == PHONES[1:]
    assert grid.duration == 1.0


MFA1 = """File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 1.0
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "103 - words"
        xmin = 0
        xmax = 1.0
        intervals: size = 2
        intervals [1]:
            xmin = 0
            xmax = 0.3
            text = ""
        intervals [2]:
            xmin = 0.3
            xmax = 1.0
            text = "cat"
    item [2]:
        class = "IntervalTier"
        name = "103 - phones"
        xmin = 0
        xmax = 1.0
        intervals: size = 2
        intervals [1]:
            xmin = 0
            xmax = 0.3
            text = "sil"
        intervals [2]:
            xmin = 0.3
            xmax = 1.0
            text = "K"
"""


def test_mfa1_speaker_prefixed_tiers_are_read(tmp_path):
    path = tmp_path / "a.TextGrid"
    path.write_text(MFA1)
    grid = read_textgrid(path)
    assert grid.words == [Segment("cat", 0.3, 1.0)]
    assert grid.phones == [Segment("sil", 0.0, 0.3), Segment("K", 0.3, 1.0)]


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "a.TextGrid"
    path.write_text("not a textgrid\n")
    with pytest.raises(ValueError, match=r"a.TextGrid: not a readable TextGrid"):
        read_textgrid(path)
    path.write_text(MFA1.replace('"103 - phones"', '"segments"'))
    with pytest.raises(ValueError, match=r"a.TextGrid: expected one interval tier named 'phones'.*'103 - words'"):
        read_textgrid(path)
    with pytest.raises(FileNotFoundError):
        read_textgrid(tmp_path / "missing.TextGrid")
