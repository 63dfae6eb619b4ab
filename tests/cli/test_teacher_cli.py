"""``crossdistill teacher train|cache`` and ``crossdistill bench teacher`` end to end on the tiny corpus."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from crossdistill.cli import main

FAST_TRAIN = ["--arch", "scratch", "--epochs", "2", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def trained_teacher(tiny_corpus, tmp_path_factory):
    """A scratch teacher trained through the CLI on the shared tiny corpus."""
    out = tmp_path_factory.mktemp("cli_teacher") / "teacher"
    assert main(["teacher", "train", "--corpus", str(tiny_corpus), "--out", str(out), *FAST_TRAIN]) == 0
    return out


def test_train_writes_a_complete_teacher_and_reports_errors(trained_teacher, tiny_corpus, capsys):
    files = {p.name for p in trained_teacher.iterdir()}
    assert {"teacher.json", "model.safetensors", "tokenizer", "metrics.json", "train.log"} <= files
    metrics = json.loads((trained_teacher / "metrics.json").read_text())
    assert set(metrics["splits"]) == {"train", "valid", "test"}
    for split, result in metrics["splits"].items():
        rows = read_rows(tiny_corpus / "data" / f"{split}_data.csv")
        assert result["utterances"] == len(rows) - 1  # minus the header
        assert 0.0 <= result["intent_error"] <= 1.0


def test_cache_prints_its_folder_and_loads(trained_teacher, tiny_corpus, capsys):
    from crossdistill.data.corpus import load_corpus
    from crossdistill.teachers.text import CacheOptions, load_teacher_cache

    capsys.readouterr()
    args = [
        "teacher",
        "cache",
        "--teacher",
        str(trained_teacher),
        "--corpus",
        str(tiny_corpus),
        "--n-masks",
        "7",
        "--quiet",
    ]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    corpus = load_corpus(tiny_corpus)
    assert printed["utterances"] == sum(len(u) for u in corpus.splits.values())
    assert printed["cache"].startswith(str(trained_teacher / "cache"))
    cache = load_teacher_cache(trained_teacher, corpus, CacheOptions(n_masks=7))
    assert str(cache.path) == printed["cache"] and cache.key == printed["key"]
    assert not any("cache" in p.name for p in tiny_corpus.iterdir())  # nothing written into the corpus


def read_rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_cache_refuses_a_teacher_of_another_label_set(trained_teacher, tiny_corpus, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(tiny_corpus, other)
    train_csv = other / "data" / "train_data.csv"
    rows = read_rows(train_csv)
    rows.append(
        [
            str(len(rows) - 1),
            rows[1][1].replace(".wav", "_extra.wav"),
            rows[1][2],
            "Dance",
            "dance",  # an action the 31 intents lack: the label set differs for sure
            "none",
            "none",
        ]
    )
    shutil.copy(other / rows[1][1], other / rows[-1][1])
    write_rows(train_csv, rows)
    (other / "corpus.json").unlink()  # its saved label set no longer matches the edited training split
    err = _error(capsys, ["teacher", "cache", "--teacher", str(trained_teacher), "--corpus", str(other), "--quiet"])
    assert "label set does not match the corpus" in err


def test_train_rejects_bad_input_cleanly(tiny_corpus, tmp_path, capsys):
    err = _error(capsys, ["teacher", "train", "--corpus", str(tmp_path / "nope"), "--out", str(tmp_path / "t")])
    assert "does not exist" in err
    err = _error(
        capsys,
        [
            "teacher",
            "train",
            "--corpus",
            str(tiny_corpus),
            "--out",
            str(tmp_path / "t"),
            "--arch",
            "scratch",
            "--encoder",
            "minilm",
        ],
    )
    assert "cannot be combined with --arch scratch" in err
    # A validation label the training split never saw: named with its file and line, nothing written.
    bad = tmp_path / "bad"
    shutil.copytree(tiny_corpus, bad)
    valid_csv = bad / "data" / "valid_data.csv"
    rows = read_rows(valid_csv)
    rows[1][4:7] = ["dance", "none", "none"]
    write_rows(valid_csv, rows)
    err = _error(capsys, ["teacher", "train", "--corpus", str(bad), "--out", str(tmp_path / "t"), *FAST_TRAIN])
    assert "valid_data.csv, line 2" in err and "'dance'" in err
    assert not (tmp_path / "t").exists()


def test_teacher_cache_without_a_teacher(tiny_corpus, tmp_path, capsys):
    err = _error(capsys, ["teacher", "cache", "--teacher", str(tmp_path), "--corpus", str(tiny_corpus)])
    assert "not a trained teacher folder" in err


def test_bench_teacher_prints_its_measurements(trained_teacher, tiny_corpus, capsys):
    capsys.readouterr()
    argv = [
        "bench",
        "teacher",
        "--corpus",
        str(tiny_corpus),
        "--teacher",
        str(trained_teacher),
        "--n-masks",
        "5",
        "--throughput-texts",
        "64",
        "--threads",
        "1",
    ]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["utterances"] == 24 and 1 <= result["unique_transcripts"] <= 24
    for key in (
        "throughput_transcripts_per_s",
        "cache_build_s",
        "per_unique_compute_s",
        "per_utterance_compute_s",
        "per_utterance_over_per_unique",
    ):
        assert result[key] > 0, key


def test_planned_corpus_is_the_synthesized_corpus_minus_audio(tiny_corpus):
    """The benchmark's default corpus plan must be what ``data synth`` writes (it reuses the synthesizer's plan)."""
    from crossdistill.data.corpus import load_corpus
    from crossdistill.experiments.benchmarks.teacher import plan_synthetic_corpus

    corpus = load_corpus(tiny_corpus)
    options = corpus.metadata["options"]
    planned = plan_synthetic_corpus(
        options["preset"], options["seed"], options["speakers"], options["utterances_per_speaker"]
    )
    assert planned.labels == corpus.labels
    for split, utterances in corpus.splits.items():
        assert [(u.utt_id, u.speaker_id, u.transcription, u.intent) for u in planned.splits[split]] == [
            (u.utt_id, u.speaker_id, u.transcription, u.intent) for u in utterances
        ]
