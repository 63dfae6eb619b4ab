"""Training-label noise: which rows, what they become, how the corpus records it, and what it leaves alone."""

from __future__ import annotations

import csv
import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.corpus import CorpusError, load_corpus
from crossdistill.data.label_noise import (
    LABEL_NOISE_COLUMNS,
    check_label_noise,
    choose_label_noise,
    clean_train_intents,
    label_noise_path,
    read_label_noise,
)
from crossdistill.data.synth import synthesize_corpus
from crossdistill.teachers.text.examples import build_corpus_examples

TINY = {"preset": "tiny", "speakers": 6, "utterances_per_speaker": 4, "seed": 0}  # as the tiny_corpus fixture
NOISE = 0.15  # 2 of the tiny corpus's 16 training rows


@pytest.fixture(scope="module")
def noisy_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("noisy") / "corpus"
    return synthesize_corpus(root, jobs=2, progress=False, label_noise=NOISE, **TINY)


def _labels(intents: list[int]) -> list[tuple[str, str, str]]:
    return [(f"a{i % 3}", f"o{i}", "none") for i in intents]


@settings(max_examples=200, deadline=None)
@given(
    intents=st.lists(st.integers(0, 7), min_size=2, max_size=200),
    rate=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**32 - 1),
)
def test_exactly_round_rate_times_n_rows_get_another_known_intent(intents, rate, seed):
    labels = _labels(intents)
    wanted = round(rate * len(labels))
    # The rows that can be relabelled while every intent keeps one right label: all but one per intent.
    flippable = len(labels) - len(set(labels))
    if wanted > 0 and (len(set(labels)) < 2 or wanted > flippable):
        with pytest.raises(ValueError, match="label-noise"):
            choose_label_noise(labels, rate, np.random.default_rng(seed))
        return
    wrong = choose_label_noise(labels, rate, np.random.default_rng(seed))
    assert len(wrong) == wanted
    assert list(wrong) == sorted(wrong) and all(0 <= row < len(labels) for row in wrong)
    for row, intent in wrong.items():
        assert intent != labels[row] and intent in set(labels)
    noisy = [wrong.get(row, label) for row, label in enumerate(labels)]
    kept = Counter(label for row, label in enumerate(labels) if row not in wrong)
    assert set(kept) == set(labels)  # every intent keeps a right label, so the label set is unchanged
    assert set(noisy) == set(labels)
    assert wrong == choose_label_noise(labels, rate, np.random.default_rng(seed))  # deterministic


@pytest.mark.parametrize("rate", [-0.01, 1.0, 1.5, float("nan"), "x"])
def test_rate_outside_zero_one_is_refused(rate, tmp_path):
    with pytest.raises(ValueError, match=r"--label-noise must"):
        check_label_noise(rate)
    with pytest.raises(ValueError, match=r"--label-noise must"):
        synthesize_corpus(tmp_path / "x", progress=False, label_noise=rate, **TINY)
    assert not (tmp_path / "x").exists()


def test_a_corpus_too_small_for_the_rate_is_refused_before_synthesis(tmp_path):
    with pytest.raises(ValueError, match="every training intent keeps a right label"):
        synthesize_corpus(tmp_path / "x", progress=False, label_noise=0.9, **TINY)
    assert not (tmp_path / "x").exists()


def test_noisy_corpus_relabels_only_the_recorded_training_rows(tiny_corpus, noisy_corpus):
    clean, noisy = load_corpus(tiny_corpus), load_corpus(noisy_corpus)
    recorded = read_label_noise(noisy)
    assert read_label_noise(clean) is None
    assert len(recorded) == round(NOISE * len(clean.splits["train"])) == 2
    for split in ("valid", "test"):  # held-out splits stay clean
        assert (noisy_corpus / "data" / f"{split}_data.csv").read_bytes() == (
            tiny_corpus / "data" / f"{split}_data.csv"
        ).read_bytes()
    for before, after in zip(clean.splits["train"], noisy.splits["train"], strict=True):
        assert (before.utt_id, before.transcription) == (after.utt_id, after.transcription)
        if after.utt_id in recorded:
            assert recorded[after.utt_id].clean == before.intent != after.intent == recorded[after.utt_id].noisy
        else:
            assert after.intent == before.intent
    assert clean_train_intents(noisy) == [u.intent for u in clean.splits["train"]]
    assert noisy.labels == clean.labels
    meta = json.loads((noisy_corpus / "corpus.json").read_text())
    assert meta["options"]["label_noise"] == NOISE
    assert meta["label_noise"] == {"rate": NOISE, "train_rows": 2, "file": "data/train_label_noise.csv"}


def test_audio_is_the_same_and_the_corpus_fingerprint_is_not(tiny_corpus, noisy_corpus):
    for wav in (tiny_corpus / "wavs").rglob("*.wav"):
        assert (noisy_corpus / wav.relative_to(tiny_corpus)).read_bytes() == wav.read_bytes()
    # Everything keyed by the corpus fingerprint (acoustic-output cache, pre-training runs) sees the labels change.
    clean, noisy = load_corpus(tiny_corpus), load_corpus(noisy_corpus)
    assert clean.fingerprint() != noisy.fingerprint()
    # The teacher's run identity fingerprints its examples (transcript, labels, count): they change too.
    assert build_corpus_examples(clean)["train"] != build_corpus_examples(noisy)["train"]


def test_rerun_with_other_noise_is_refused(noisy_corpus):
    assert synthesize_corpus(noisy_corpus, progress=False, label_noise=NOISE, **TINY) == noisy_corpus
    with pytest.raises(ValueError, match="already holds a corpus made with other options"):
        synthesize_corpus(noisy_corpus, progress=False, label_noise=0.2, **TINY)


def _copy_with_edited_noise_file(noisy_corpus, tmp_path, edit):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(noisy_corpus, copy)
    path = label_noise_path(copy)
    rows = list(csv.reader(path.open()))
    edit(rows)
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return load_corpus(copy, check_audio=False), path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: rows.__setitem__(0, ["path", "action"]), "expected the header"),
        (lambda rows: rows[1].__setitem__(0, "wavs/speakers/nobody/x.wav"), "is not a training utterance"),
        (lambda rows: rows.append(rows[1]), "or repeats"),
        (lambda rows: rows[1].__setitem__(4, "zzz"), "differs from train_data.csv"),
        (lambda rows: rows[1].__setitem__(slice(1, 4), rows[1][4:7]), "the clean and the noisy label are the same"),
        (lambda rows: rows[1].pop(), "fields, expected"),
    ],
)
def test_a_noise_file_that_does_not_match_the_corpus_is_an_error_naming_the_line(noisy_corpus, tmp_path, edit, message):
    corpus, path = _copy_with_edited_noise_file(noisy_corpus, tmp_path, edit)
    with pytest.raises(CorpusError, match=message) as error:
        read_label_noise(corpus)
    assert str(path) in str(error.value)


def test_noise_file_columns(noisy_corpus):
    header = next(csv.reader(label_noise_path(noisy_corpus).open()))
    assert tuple(header) == LABEL_NOISE_COLUMNS
