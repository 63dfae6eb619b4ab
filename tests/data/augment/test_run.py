"""``augment_corpus``: bad input refused before anything is written, resume after a kill, a finished run left alone."""

from __future__ import annotations

import json
import shutil

import pytest

from crossdistill.data.augment import AugmentOptions, augment_corpus
from crossdistill.data.augment import run as augment_run
from crossdistill.data.corpus import CorpusError

QUICK = AugmentOptions(speeds=(0.9, 1.1), noise_snr_db=(5.0, 15.0), seed=3)


def test_bad_input_names_the_argument_and_writes_nothing(tiny_corpus, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"--corpus .*empty is in no layout we read"):
        augment_corpus(empty, tmp_path / "a", QUICK, progress=False)
    with pytest.raises(FileNotFoundError, match=r"--corpus .*missing does not exist"):
        augment_corpus(tmp_path / "missing", tmp_path / "a", QUICK, progress=False)
    with pytest.raises(ValueError, match=r"--out .* is --corpus itself"):
        augment_corpus(tiny_corpus, tiny_corpus, QUICK, progress=False)
    with pytest.raises(ValueError, match=r"--out .* lies inside --corpus"):
        augment_corpus(tiny_corpus, tiny_corpus / "augmented", QUICK, progress=False)
    with pytest.raises(ValueError, match=r"--corpus .* lies inside --out"):
        augment_corpus(tiny_corpus, tiny_corpus.parent, QUICK, progress=False)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"--out .*busy is not empty"):
        augment_corpus(tiny_corpus, busy, QUICK, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy", "empty"]
    assert list(busy.iterdir()) == [busy / "notes.txt"]


def test_an_invalid_corpus_is_reported_by_its_reader(corpus_copy, csv_edit, tmp_path):
    csv_edit.cell(corpus_copy / "data" / "train_data.csv", 1, "path", "wavs/speakers/nobody/x.wav")
    with pytest.raises(FileNotFoundError, match=r"train_data.csv, line 3: audio file .* not found"):
        augment_corpus(corpus_copy, tmp_path / "out", QUICK, progress=False)
    assert not (tmp_path / "out").exists()


def test_an_augmented_corpus_cannot_get_the_same_copies_again(tiny_corpus, tmp_path):
    once = augment_corpus(tiny_corpus, tmp_path / "once", QUICK, progress=False)
    with pytest.raises(CorpusError, match="would clash with an utterance or speaker the corpus already has"):
        augment_corpus(once, tmp_path / "twice", QUICK, progress=False)
    assert not (tmp_path / "twice").exists()


def test_a_finished_corpus_is_returned_as_it_is_and_other_options_are_refused(tiny_corpus, tmp_path, tree_digest):
    out = augment_corpus(tiny_corpus, tmp_path / "out", QUICK, progress=False)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert augment_corpus(tiny_corpus, out, QUICK, progress=False) == out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps
    with pytest.raises(ValueError, match="already holds a corpus that is not this augmentation"):
        augment_corpus(tiny_corpus, out, AugmentOptions(speeds=(0.9, 1.1), seed=4), progress=False)


def test_a_killed_run_resumes_to_the_same_bytes(tiny_corpus, tmp_path, tree_digest, monkeypatch):
    reference = augment_corpus(tiny_corpus, tmp_path / "reference", QUICK, progress=False)
    made = []
    original = augment_run.make_copy

    def dies_after_five(plan, root, rooms):
        if len(made) == 5:
            raise KeyboardInterrupt  # as a kill would, mid-way through the copies
        original(plan, root, rooms)
        made.append(plan)

    monkeypatch.setattr(augment_run, "make_copy", dies_after_five)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        augment_corpus(tiny_corpus, out, QUICK, progress=False)
    monkeypatch.undo()
    staging = tmp_path / ".out.augmenting"
    assert not out.exists() and staging.is_dir()
    # A temporary that a kill during a write would leave, and other options, which must not mix with this run.
    (staging / "wavs" / "speakers" / "sp0.9-spk000" / ".sp0.9-spk000_0001.x1y2.tmp.wav").write_bytes(b"partial")
    with pytest.raises(ValueError, match="holds an unfinished augmentation with other options"):
        augment_corpus(tiny_corpus, out, AugmentOptions(speeds=(0.8,)), progress=False)
    assert augment_corpus(tiny_corpus, out, QUICK, progress=False) == out
    assert not staging.exists()
    assert tree_digest(out) == tree_digest(reference)


def test_unchanged_files_are_hard_links_on_one_file_system(tiny_corpus, tmp_path):
    out = augment_corpus(tiny_corpus, tmp_path / "out", QUICK, progress=False)
    for path in ("data/test_data.csv", "wavs/speakers/spk000/spk000_0000.wav"):
        assert (out / path).stat().st_ino == (tiny_corpus / path).stat().st_ino
    summary = augment_run.describe_augmentation(out)
    assert summary["copies"] == {"0.9": 16, "1.1": 16} and summary["layout"] == "fsc"
    assert json.loads((out / "corpus.json").read_text())["augmentation"]["options"] == QUICK.to_dict()


def test_a_librispeech_corpus_without_a_training_split_is_refused(asr_tiny_corpus, tmp_path):
    source = tmp_path / "devonly"
    shutil.copytree(asr_tiny_corpus, source, ignore=shutil.ignore_patterns("train", "train.*"))
    with pytest.raises(ValueError, match="has no training split to augment"):
        augment_corpus(source, tmp_path / "out", QUICK, progress=False)
    assert not (tmp_path / "out").exists()
