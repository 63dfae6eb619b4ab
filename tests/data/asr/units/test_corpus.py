"""`crossdistill asr units` end to end on a corpus in LibriSpeech's real layout (flac, trans.txt, CTM, lexicon)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crossdistill.cli import main
from crossdistill.data.asr.frames import num_frames
from crossdistill.data.asr.units import load_units


def write_lm_text(root: Path, words: list[str]) -> None:
    rng = np.random.default_rng(0)
    (root / "lm").mkdir()
    for name, count in (("text.txt", 200), ("valid.txt", 20)):
        lines = [" ".join(rng.choice(words, rng.integers(2, 7))) for _ in range(count)]
        (root / "lm" / name).write_text("\n".join(lines) + "\n")


def units_command(root: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    return [
        "asr", "units", "--corpus", str(root), "--out", str(out), "--senones", "130", "--subwords", "24",
        "--min-leaf-frames", "5", "--train-split", "train-clean-100", "--dev-split", "dev-clean",
        "--features-cache", str(cache), "--quiet", *extra,
    ]  # fmt: skip


@pytest.fixture
def corpus(tmp_path, asr_tree) -> Path:
    root = asr_tree.write(tmp_path / "LibriSpeech", alignments="ctm")
    write_lm_text(root, sorted(asr_tree.LEXICON))
    return root


def test_units_command_on_a_librispeech_tree(corpus, tmp_path, asr_tree, capsys):
    before = asr_tree.snapshot(corpus)
    assert main(units_command(corpus, tmp_path / "units", tmp_path / "cache")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert asr_tree.snapshot(corpus) == before  # the corpus is only read
    assert summary["splits"] == {"train-clean-100": 5, "dev-clean": 2}
    assert summary["phones"] == 41 and summary["subwords"] == 24 and 123 <= summary["senones"] <= 130
    units = load_units(tmp_path / "units", corpus)
    assert units.key == summary["key"]
    from crossdistill.data.asr.librispeech import load_asr_corpus

    loaded = load_asr_corpus(corpus, progress=False)
    for split, utterances in loaded.splits.items():
        frames = units.frames(split)
        assert frames.utt_ids.tolist() == [u.utt_id for u in utterances]
        assert np.diff(frames.offsets).tolist() == [num_frames(u.num_samples) for u in utterances]
    dev = (tmp_path / "units" / "lm" / "phone.dev.txt").read_text().splitlines()
    assert dev == ["SIL DH AH K AE T SIL", "SIL B OW N W ER L D HH AH L OW SIL"]  # dev-clean's transcripts
    # the same command again confirms the finished folder
    assert main(units_command(corpus, tmp_path / "units", tmp_path / "cache")) == 0
    assert json.loads(capsys.readouterr().out) == summary


def test_units_of_a_changed_corpus_are_refused(corpus, tmp_path, capsys):
    assert main(units_command(corpus, tmp_path / "units", tmp_path / "cache")) == 0
    capsys.readouterr()
    lexicon = corpus / "librispeech-lexicon.txt"
    lexicon.write_text(lexicon.read_text() + "ZEBRA\tZ IY1 B R AH0\n")
    with pytest.raises(ValueError, match="built from other inputs"):
        load_units(tmp_path / "units", corpus)
    assert main(units_command(corpus, tmp_path / "units", tmp_path / "cache")) == 2
    assert "other inputs or options" in capsys.readouterr().err


def test_missing_lm_text_is_a_clear_error(corpus, tmp_path, capsys):
    (corpus / "lm" / "valid.txt").unlink()
    assert main(units_command(corpus, tmp_path / "units", tmp_path / "cache")) == 2
    assert "no LM valid text (lm/valid.txt)" in capsys.readouterr().err
    assert not (tmp_path / "units").exists()


def test_bad_option_is_a_clear_error(corpus, tmp_path, capsys):
    assert main([*units_command(corpus, tmp_path / "units", tmp_path / "cache"), "--senones", "50"]) == 2
    assert "--senones must be at least 123" in capsys.readouterr().err
