"""Fixtures for paper 001's data tests: tiny corpora in LibriSpeech's exact layout, with CTM or TextGrid alignments."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from crossdistill.data.alignments import Segment

# Lexicon in librispeech-lexicon.txt's style: tab after the word, CMUdict stress digits.
LEXICON = {
    "HELLO": ("HH", "AH0", "L", "OW1"),
    "WORLD": ("W", "ER1", "L", "D"),
    "THE": ("DH", "AH0"),
    "CAT": ("K", "AE1", "T"),
    "SAT": ("S", "AE1", "T"),
    "DOG'S": ("D", "AO1", "G", "Z"),
    "BONE": ("B", "OW1", "N"),
}
# split -> speaker -> chapter -> transcripts (utterance ids numbered from 0 within the chapter)
TREE = {
    "train-clean-100": {
        103: {1240: ["HELLO WORLD", "THE CAT SAT", "THE DOG'S BONE"]},
        1034: {121119: ["CAT SAT", "HELLO THE WORLD"]},
    },
    "dev-clean": {1272: {128104: ["THE CAT", "BONE WORLD HELLO"]}},
}
LEAD_S, TRAIL_S, WORD_S = 0.12, 0.2, 0.31  # leading silence, trailing silence, seconds per word


def utterance_duration(words: list[str]) -> float:
    return LEAD_S + WORD_S * len(words) + TRAIL_S


def fake_alignment(words: list[str]) -> tuple[list[Segment], list[Segment]]:
    """Words at fixed spacing, phones sharing each word's span, SIL at both ends; whole milliseconds."""
    word_segments, phone_segments = [], [Segment("SIL", 0.0, LEAD_S)]
    for i, word in enumerate(words):
        start_ms = round((LEAD_S + i * WORD_S) * 1000)
        end_ms = round((LEAD_S + (i + 1) * WORD_S) * 1000)
        word_segments.append(Segment(word, start_ms / 1000, end_ms / 1000))
        phones = LEXICON[word]
        bounds = [start_ms + (end_ms - start_ms) * k // len(phones) for k in range(len(phones) + 1)]
        for k, phone in enumerate(phones):
            suffix = "_S" if len(phones) == 1 else "_B" if k == 0 else "_E" if k == len(phones) - 1 else "_I"
            phone_segments.append(Segment(phone + suffix, bounds[k] / 1000, bounds[k + 1] / 1000))
    end = round(utterance_duration(words), 3)
    phone_segments.append(Segment("SIL", phone_segments[-1].end, end))
    return word_segments, phone_segments


def write_tree(root: Path, alignments: str | None = "ctm", tree=None) -> Path:
    """Write a corpus in LibriSpeech's layout under ``root`` and return ``root``.

    ``alignments``: ``ctm`` (Kaldi-style, ``alignments/{split}.{words,phones}.ctm``), ``textgrid`` (MFA-style
    ``alignments/<speaker>/<utt>.TextGrid``, lower-case words, silence as empty intervals) or None.
    """
    from crossdistill.data.asr.ctm import write_ctm
    from crossdistill.data.asr.textgrid import write_textgrid

    tree = TREE if tree is None else tree
    rng = np.random.default_rng(0)
    for split, speakers in tree.items():
        words_ctm, phones_ctm = {}, {}
        for speaker, chapters in speakers.items():
            for chapter, transcripts in chapters.items():
                folder = root / split / str(speaker) / str(chapter)
                folder.mkdir(parents=True)
                lines = []
                for n, text in enumerate(transcripts):
                    utt_id = f"{speaker}-{chapter}-{n:04d}"
                    words = text.split()
                    samples = round(utterance_duration(words) * 16000)
                    audio = 0.1 * np.sin(np.arange(samples) * 0.07) + 0.01 * rng.standard_normal(samples)
                    soundfile.write(folder / f"{utt_id}.flac", audio, 16000, subtype="PCM_16")
                    lines.append(f"{utt_id} {text}\n")
                    word_segments, phone_segments = fake_alignment(words)
                    words_ctm[utt_id], phones_ctm[utt_id] = word_segments, phone_segments
                    if alignments == "textgrid":
                        write_textgrid(
                            root / "alignments" / str(speaker) / f"{utt_id}.TextGrid",
                            [Segment(w.label.lower(), w.start, w.end) for w in word_segments],
                            [Segment(p.label.split("_")[0], p.start, p.end) for p in phone_segments],
                            samples / 16000,
                        )
                (folder / f"{speaker}-{chapter}.trans.txt").write_text("".join(lines))
        if alignments == "ctm":
            write_ctm(root / "alignments" / f"{split}.words.ctm", words_ctm)
            write_ctm(root / "alignments" / f"{split}.phones.ctm", phones_ctm)
    lexicon_lines = [f"{word}\t{' '.join(phones)}\n" for word, phones in sorted(LEXICON.items())]
    (root / "librispeech-lexicon.txt").write_text("".join(lexicon_lines))
    return root


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``root`` with its content hash and modification time (to prove nothing was written)."""
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def librispeech_tree(tmp_path: Path) -> Path:
    """A LibriSpeech-layout corpus (train-clean-100, dev-clean) with Kaldi CTM alignments and a lexicon."""
    return write_tree(tmp_path / "LibriSpeech", alignments="ctm")


@pytest.fixture
def asr_tree():
    """The tree helpers, for tests (test modules cannot import this conftest under importlib mode)."""
    return SimpleNamespace(
        write=write_tree, snapshot=snapshot, fake_alignment=fake_alignment, TREE=TREE, LEXICON=LEXICON
    )
