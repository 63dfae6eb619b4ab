"""What a user hits on the command line: an empty split is refused by every command that reads a corpus, before
anything is written; audio that is converted on read is noted once by every command that reads it."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

import crossdistill.data.audio as audio_module
from crossdistill.cli import main
from crossdistill.data.corpus import load_corpus, split_csv_path

NOTE = "converted on every read"


@pytest.fixture
def empty_valid(tiny_corpus, tmp_path) -> Path:
    """A copy of the tiny corpus whose valid_data.csv holds only its header."""
    root = Path(shutil.copytree(tiny_corpus, tmp_path / "corpus"))
    path = split_csv_path(root, "valid")
    path.write_text(path.read_text().splitlines()[0] + "\n")
    return root


def test_an_empty_split_is_refused_before_anything_is_written(empty_valid, pipeline, tmp_path, capsys):
    expected = f"{split_csv_path(empty_valid, 'valid')}: the valid split is empty"
    out = tmp_path / "out"
    commands = [
        ["data", "info", str(empty_valid)],
        ["data", "features", str(empty_valid), "--cache-dir", str(out)],
        ["teacher", "train", "--corpus", str(empty_valid), "--out", str(out), "--arch", "scratch", "--quiet"],
        ["train", f"corpus={empty_valid}", f"acoustic={pipeline.acoustic}", f"out={out}", "trainer.progress_bar=false"],
    ]
    for argv in commands:
        assert main(argv) == 2, argv
        assert expected in capsys.readouterr().err, argv
        assert not out.exists(), argv


@pytest.fixture
def converted_corpus(tiny_corpus, tmp_path) -> Path:
    """A copy of the tiny corpus whose first two training files are 8 kHz stereo (the reader converts them)."""
    root = Path(shutil.copytree(tiny_corpus, tmp_path / "converted"))
    for utterance in load_corpus(root).splits["train"][:2]:
        audio, _ = soundfile.read(str(utterance.audio_path), dtype="float32")
        soundfile.write(str(utterance.audio_path), np.stack([audio[::2]] * 2, axis=1), 8000, subtype="PCM_16")
    return root


def _notes(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if "converting" in record.getMessage() or NOTE in
            record.getMessage()]  # fmt: skip


@pytest.fixture
def fresh_note(monkeypatch, caplog):
    """Each command below runs as if in a new process: nothing noted yet."""
    monkeypatch.setattr(audio_module, "_warned_conversion", False)
    caplog.set_level(logging.WARNING, logger="crossdistill.data.audio")
    return caplog


def test_data_info_notes_the_conversion_once_with_the_counts(converted_corpus, fresh_note, capsys):
    assert main(["data", "info", str(converted_corpus)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["audio_formats"] == {"16000 Hz mono": 22, "8000 Hz with 2 channels": 2}
    (note,) = _notes(fresh_note)
    assert "2 of 24 audio files are not 16000 Hz mono (2 at 8000 Hz with 2 channels)" in note


def test_data_features_notes_the_conversion_once(converted_corpus, fresh_note, tmp_path, capsys):
    assert main(["data", "features", str(converted_corpus), "--cache-dir", str(tmp_path / "cache")]) == 0
    assert len(_notes(fresh_note)) == 1  # the corpus note; reading the two files adds nothing


def test_predict_notes_the_conversion_once(converted_corpus, pipeline, fresh_note, tmp_path, capsys):
    from crossdistill.train.config import load_train_config
    from crossdistill.train.run import train_intent

    run = tmp_path / "run"
    train_intent(load_train_config(None, pipeline.overrides(run, epochs=1)))
    fresh_note.clear()
    audio_module._warned_conversion = False
    files = [str(u.audio_path) for u in load_corpus(converted_corpus, check_audio=False).splits["train"][:2]]
    assert main(["predict", "--model", str(run), *files]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    (note,) = _notes(fresh_note)
    assert "8000 Hz with 2 channels; converting to 16000 Hz mono on read" in note
