"""Arora et al.'s challenge-split CSVs on a real FSC copy: the split view, what derives from it, and bad input.

The FSC copy here is a tiny tree in FSC's layout with FSC's own strings (speaker ids, phrasings, slot values) and
short silent wavs; the challenge CSVs have the exact layout of maseEval/mase's (``,Unnamed: 0,path,...``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from crossdistill.cli import main
from crossdistill.data.challenge_splits import build_challenge_view
from crossdistill.data.corpus import CorpusError, load_corpus
from crossdistill.data.features import FeatureConfig, feature_cache_dir

TESTS = ("utterance", "speaker")
FSC_HEADER = ["", "path", "speakerId", "transcription", "action", "object", "location"]
MASE_HEADER = ["", "Unnamed: 0", "path", "speakerId", "transcription", "action", "object", "location"]
SPEAKERS = ["4BrX8aDqK2cLZRYl", "2BqVo8kVB2Skwgyb", "anvKyBjB5OiP5dYZ", "ro5AaKwypZIqNEp2"]
PHRASINGS = {
    ("activate", "lights", "none"): ["Turn on the lights", "Switch on the lights", "Lights on"],
    ("decrease", "volume", "none"): ["Turn the volume down", "Lower the volume", "Volume down"],
    ("change language", "none", "none"): ["Change language", "Switch language", "Language settings"],
}


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def fsc(tmp_path: Path) -> Path:
    """A tiny FSC copy: 4 speakers, each saying the 9 phrasings once; speakers 0-1 train, 2 valid, 3 test."""
    root = tmp_path / "fluent_speech_commands_dataset"
    rows: dict[str, list[list[str]]] = {"train": [], "valid": [], "test": []}
    for s, speaker in enumerate(SPEAKERS):
        split = ("train", "train", "valid", "test")[s]
        for p, (intent, texts) in enumerate(PHRASINGS.items()):
            for t, text in enumerate(texts):
                path = f"wavs/speakers/{speaker}/{s}{p}{t}0c7d-4ab1-11e9-a9a5-5dbec3b8816a.wav"
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(str(root / path), np.zeros(1600, dtype=np.int16), 16000, subtype="PCM_16")
                rows[split].append([str(len(rows[split])), path, speaker, text, *intent])
    for split, split_rows in rows.items():
        _write_csv(root / "data" / f"{split}_data.csv", FSC_HEADER, split_rows)
    return root


def _fsc_rows(fsc: Path) -> list[list[str]]:
    rows = []
    for split in ("train", "valid", "test"):
        with open(fsc / "data" / f"{split}_data.csv", newline="") as handle:
            rows += list(csv.reader(handle))[1:]
    return rows


@pytest.fixture
def splits_dir(fsc: Path, tmp_path: Path) -> Path:
    """Challenge CSVs: "Language settings", "Lights on" and "Volume down" held out for the utterance test (said by
    speakers 0-2), speaker 3 as the speaker test (seen phrasings only), valid from speakers 0-2's seen phrasings."""
    held_out = {"Lights on", "Volume down", "Language settings"}
    train, valid, utterance_test, speaker_test = [], [], [], []
    for original in _fsc_rows(fsc):
        speaker, text = original[2], original[3]
        mase_row = [original[0], *original]  # the second index column, as pandas wrote them
        if speaker == SPEAKERS[3]:
            if text not in held_out:  # Arora et al. keep only seen transcripts in the speaker test
                speaker_test.append(mase_row)
        elif text in held_out:
            utterance_test.append(mase_row)
        elif speaker == SPEAKERS[2]:
            valid.append(mase_row)
        else:
            train.append(mase_row)
    folder = tmp_path / "challenge_splits"
    files = {"train": train, "valid": valid, "utterance_test": utterance_test, "speaker_test": speaker_test}
    for name, rows in files.items():
        _write_csv(folder / f"{name}_data.csv", MASE_HEADER, [[str(i), *row[1:]] for i, row in enumerate(rows)])
    return folder


def _edit(path: Path, line: int, column: str, value: str) -> None:
    """Set ``column`` of file line ``line`` (the header is line 1) of a challenge CSV."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    rows[line - 1][rows[0].index(column)] = value
    _write_csv(path, rows[0], rows[1:])


def test_utterance_view_reads_the_challenge_rows_as_a_corpus(fsc, splits_dir, tmp_path):
    view = build_challenge_view(fsc, splits_dir, "utterance", tmp_path / "view")
    corpus = load_corpus(view)
    with open(splits_dir / "utterance_test_data.csv", newline="") as handle:
        expected = [row[2] for row in list(csv.reader(handle))[1:]]
    assert [f"{u.utt_id}.wav" for u in corpus.splits["test"]] == expected
    said = {split: {u.transcription for u in utts} for split, utts in corpus.splits.items()}
    assert said["test"] == {"Lights on", "Volume down", "Language settings"}
    assert not said["test"] & said["train"]
    assert {u.intent for u in corpus.splits["test"]} <= set(corpus.labels.intents)
    assert corpus.splits["test"][0].audio_path.is_file() and (view / "wavs").is_symlink()
    metadata = json.loads((view / "corpus.json").read_text())
    assert metadata["options"]["split"] == "unseen-utterance"
    assert metadata["split"]["sources"]["test"]["file"] == "utterance_test_data.csv"
    assert not (fsc / "corpus.json").exists()  # the FSC copy is never written


def test_speaker_view_has_unseen_speakers_and_shares_train_and_valid(fsc, splits_dir, tmp_path):
    by_speaker = load_corpus(build_challenge_view(fsc, splits_dir, "speaker", tmp_path / "speaker"))
    by_utterance = load_corpus(build_challenge_view(fsc, splits_dir, "utterance", tmp_path / "utterance"))
    speakers = {split: {u.speaker_id for u in utts} for split, utts in by_speaker.splits.items()}
    assert speakers["test"] == {SPEAKERS[3]} and not speakers["test"] & speakers["train"]
    for split in ("train", "valid"):
        assert [u.utt_id for u in by_speaker.splits[split]] == [u.utt_id for u in by_utterance.splits[split]]
    assert by_speaker.labels == by_utterance.labels  # a model trained on one view evaluates on the other


def test_what_derives_from_the_corpus_differs_with_the_split(fsc, splits_dir, tmp_path):
    original = load_corpus(fsc)
    views = [load_corpus(build_challenge_view(fsc, splits_dir, test, tmp_path / test)) for test in TESTS]
    fingerprints = {corpus.fingerprint() for corpus in (original, *views)}
    assert len(fingerprints) == 3
    # The same files in one order, split at other places: the per-split feature cache must not be shared.
    moved = load_corpus(fsc)
    train, valid = original.splits["train"], original.splits["valid"]
    moved.splits = {"train": train[:-1], "valid": train[-1:] + valid, "test": original.splits["test"]}
    assert [u.utt_id for u in moved.utterances()] == [u.utt_id for u in original.utterances()]
    config = FeatureConfig()
    assert feature_cache_dir(moved, config, tmp_path) != feature_cache_dir(original, config, tmp_path)


def test_same_view_again_is_reused_and_other_contents_are_refused(fsc, splits_dir, tmp_path):
    view = build_challenge_view(fsc, splits_dir, "utterance", tmp_path / "view")
    before = (view / "corpus.json").stat().st_mtime_ns
    assert build_challenge_view(fsc, splits_dir, "utterance", view) == view
    assert (view / "corpus.json").stat().st_mtime_ns == before
    _edit(splits_dir / "valid_data.csv", 2, "Unnamed: 0", "999")  # other bytes, same rows
    with pytest.raises(ValueError, match="holds a view of other versions of the challenge CSVs"):
        build_challenge_view(fsc, splits_dir, "utterance", view)
    with pytest.raises(ValueError, match="holds no view of these options"):
        build_challenge_view(fsc, splits_dir, "speaker", view)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("path", "wavs/speakers/4BrX8aDqK2cLZRYl/not-in-fsc.wav", "path 'wavs/speakers/4BrX8aDqK2cLZRYl/not-in-fsc"
         ".wav' is not a row of the corpus at"),
        ("transcription", "Turn the lights on please", "transcription 'Turn the lights on please' differs from the "
         "corpus's"),
        ("action", "deactivate", "action 'deactivate' differs from the corpus's"),
    ],
)  # fmt: skip
def test_a_challenge_row_not_in_the_corpus_is_named(fsc, splits_dir, tmp_path, column, value, message):
    _edit(splits_dir / "train_data.csv", 3, column, value)
    with pytest.raises(CorpusError, match=f"train_data.csv, line 3: {message}"):
        build_challenge_view(fsc, splits_dir, "utterance", tmp_path / "view")
    assert not (tmp_path / "view").exists()
    assert not list(tmp_path.glob(".view.partial-*"))


def test_an_intent_without_training_rows_is_named(fsc, splits_dir, tmp_path):
    with open(splits_dir / "train_data.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    _write_csv(splits_dir / "train_data.csv", rows[0], [r for r in rows[1:] if r[5] != "change language"])
    with pytest.raises(ValueError, match=r"valid_data.csv, line \d+: intent \('change language', 'none', 'none'\) has"):
        build_challenge_view(fsc, splits_dir, "utterance", tmp_path / "view")
    assert not (tmp_path / "view").exists()


def test_duplicate_rows_missing_files_and_unknown_test_set(fsc, splits_dir, tmp_path):
    with open(splits_dir / "valid_data.csv", newline="") as handle:
        first_valid = list(csv.reader(handle))[1]
    with open(splits_dir / "utterance_test_data.csv", "a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(first_valid)
    with pytest.raises(CorpusError, match=r"utterance_test_data.csv, line \d+: path .* is listed twice \(first at .*"
                                          r"valid_data.csv, line 2\)"):  # fmt: skip
        build_challenge_view(fsc, splits_dir, "utterance", tmp_path / "view")
    (splits_dir / "speaker_test_data.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"speaker_test_data\.csv not found: a challenge-split folder holds"):
        build_challenge_view(fsc, splits_dir, "speaker", tmp_path / "view")
    with pytest.raises(ValueError, match="--test 'closed' is unknown"):
        build_challenge_view(fsc, splits_dir, "closed", tmp_path / "view")


def test_cli_builds_the_view_and_reports_unseen_phrasings(fsc, splits_dir, tmp_path, capsys):
    out = tmp_path / "view"
    argv = ["data", "challenge-split", "--fsc", str(fsc), "--splits", str(splits_dir), "--out", str(out)]
    assert main([*argv, "--test", "utterance"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["split"] == "unseen-utterance"
    assert summary["phrasings_unseen_in_train"] == {"valid": 0, "test": 3}
    assert main(["data", "info", str(fsc)]) == 0
    assert json.loads(capsys.readouterr().out)["split"] is None
    _edit(splits_dir / "train_data.csv", 2, "path", "wavs/speakers/nobody/x.wav")
    assert main([*argv[:-1], str(tmp_path / "other"), "--test", "utterance"]) == 2
    assert "train_data.csv, line 2: path 'wavs/speakers/nobody/x.wav' is not a row of the corpus" in (
        capsys.readouterr().err
    )
