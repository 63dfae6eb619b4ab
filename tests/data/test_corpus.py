"""The FSC-layout reader: reading the synthetic corpus back, labels, and every bad-input error."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.audio import read_audio
from crossdistill.data.corpus import (
    REQUIRED_COLUMNS,
    CorpusError,
    LabelSet,
    Utterance,
    load_corpus,
    split_csv_path,
)


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
            digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()


def test_reads_tiny_corpus_back(tiny_corpus):
    corpus = load_corpus(tiny_corpus)
    assert {split: len(utts) for split, utts in corpus.splits.items()} == {"train": 16, "valid": 4, "test": 4}
    utt = corpus.splits["train"][0]
    assert utt.utt_id.startswith("wavs/speakers/") and not utt.utt_id.endswith(".wav")
    assert utt.audio_path == tiny_corpus / f"{utt.utt_id}.wav"
    assert utt.audio_path.is_absolute() and utt.audio_path.is_file()
    assert utt.utt_id.split("/")[2] == utt.speaker_id
    assert corpus.has_alignments()
    # The synthesizer saved the label set built from the training split; the reader agrees with it.
    assert corpus.labels == LabelSet.from_dict(corpus.metadata["labels"])
    assert corpus.labels == LabelSet.from_utterances(corpus.splits["train"])
    ids = [u.utt_id for u in corpus.utterances()]
    assert len(ids) == len(set(ids))


def test_speakers_are_disjoint_across_splits(tiny_corpus):
    corpus = load_corpus(tiny_corpus)
    speakers = {split: {u.speaker_id for u in utts} for split, utts in corpus.splits.items()}
    assert speakers["train"].isdisjoint(speakers["valid"])
    assert speakers["train"].isdisjoint(speakers["test"])
    assert speakers["valid"].isdisjoint(speakers["test"])
    assert [len(s) for s in speakers.values()] == [4, 1, 1]


def test_audio_is_16k_mono_pcm16(tiny_corpus):
    for utt in load_corpus(tiny_corpus).utterances():
        info = soundfile.info(str(utt.audio_path))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")


def test_label_ids_are_stable_and_sorted(tiny_corpus):
    labels = load_corpus(tiny_corpus).labels
    for slot in LabelSet.SLOTS:
        values = labels.slot_values(slot)
        assert list(values) == sorted(values)
    assert list(labels.intents) == sorted(labels.intents)
    assert LabelSet.from_dict(labels.to_dict()) == labels
    assert LabelSet.from_dict(labels.to_dict()).fingerprint() == labels.fingerprint()
    with pytest.raises(ValueError, match="unknown slot"):
        labels.slot_values("colour")


utterance_fields = st.tuples(st.sampled_from("abc"), st.sampled_from("xyz"), st.sampled_from(["none", "room"]))


@settings(max_examples=50, deadline=None)
@given(st.lists(utterance_fields, min_size=1, max_size=20))
def test_label_encoding_is_a_bijection(triples):
    utterances = [
        Utterance(f"u{i}", Path(f"/u{i}.wav"), "s", "text", a, o, loc) for i, (a, o, loc) in enumerate(triples)
    ]
    labels = LabelSet.from_utterances(utterances)
    assert len(labels.intents) == len(set(triples))
    for utt in utterances:
        assert labels.intents[labels.encode_intent(utt)] == utt.intent
        slots = labels.encode_slots(utt)
        assert tuple(labels.slot_values(s)[k] for s, k in zip(LabelSet.SLOTS, slots, strict=True)) == utt.intent
    unseen = Utterance("n", Path("/n.wav"), "s", "t", "unseen", "x", "none")
    with pytest.raises(CorpusError, match="not in the label set"):
        labels.encode_intent(unseen)
    with pytest.raises(CorpusError, match="action 'unseen'"):
        labels.encode_slots(unseen)


def test_fingerprint_changes_when_audio_changes(corpus_copy):
    before = load_corpus(corpus_copy).fingerprint()
    assert load_corpus(corpus_copy).fingerprint() == before
    wav = next((corpus_copy / "wavs").rglob("*.wav"))
    audio, rate = soundfile.read(str(wav), dtype="int16")
    soundfile.write(str(wav), audio[: len(audio) // 2], rate, subtype="PCM_16")
    assert load_corpus(corpus_copy).fingerprint() != before


def test_reader_never_modifies_the_corpus(tiny_corpus):
    before = _tree_digest(tiny_corpus)
    corpus = load_corpus(tiny_corpus)
    corpus.fingerprint()
    for utt in corpus.splits["valid"]:
        read_audio(utt.audio_path)
    assert _tree_digest(tiny_corpus) == before


def test_other_rates_and_channels_are_converted_on_read_once_and_not_rewritten(corpus_copy, caplog):
    import crossdistill.data.audio as audio_module

    utts = load_corpus(corpus_copy).splits["train"][:2]
    for utt in utts:
        audio, _ = soundfile.read(str(utt.audio_path), dtype="float32")
        stereo_8k = np.stack([audio[::2], audio[::2]], axis=1)
        soundfile.write(str(utt.audio_path), stereo_8k, 8000, subtype="PCM_16")
    raw = [u.audio_path.read_bytes() for u in utts]
    audio_module._warned_conversion = False
    with caplog.at_level(logging.WARNING, logger="crossdistill.data.audio"):
        converted = [read_audio(u.audio_path) for u in utts]
    assert sum("converting to 16000 Hz mono" in r.getMessage() for r in caplog.records) == 1
    assert [c.ndim for c in converted] == [1, 1]
    assert abs(converted[0].shape[0] - 2 * soundfile.info(str(utts[0].audio_path)).frames) <= 2
    assert [u.audio_path.read_bytes() for u in utts] == raw
    load_corpus(corpus_copy)  # such files are valid input


# --- bad input: each case names the file and the row -------------------------------------------------


@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
def test_missing_column(corpus_copy, csv_edit, column):
    path = split_csv_path(corpus_copy, "valid")
    rows = csv_edit.read(path)
    k = rows[0].index(column)
    csv_edit.write(path, [r[:k] + r[k + 1 :] for r in rows])
    with pytest.raises(CorpusError, match=rf"valid_data\.csv: missing column\(s\) {column}"):
        load_corpus(corpus_copy)


def test_missing_wav(corpus_copy, csv_edit):
    path = split_csv_path(corpus_copy, "train")
    rel = csv_edit.read(path)[3][1]
    (corpus_copy / rel).unlink()
    with pytest.raises(FileNotFoundError, match=r"train_data\.csv, line 4: audio file .* not found"):
        load_corpus(corpus_copy)


def test_unreadable_wav(corpus_copy, csv_edit):
    path = split_csv_path(corpus_copy, "test")
    rel = csv_edit.read(path)[2][1]
    (corpus_copy / rel).write_bytes(b"this is not a wav file")
    with pytest.raises(CorpusError, match=r"test_data\.csv, line 3: unreadable audio file"):
        load_corpus(corpus_copy)


@pytest.mark.parametrize("bad_path", ["../outside.wav", "wavs/../../outside.wav", "/etc/passwd"])
def test_path_escaping_the_root(corpus_copy, csv_edit, bad_path):
    # A real wav sits outside the root, so only the escape check can reject the row.
    first_wav = corpus_copy / csv_edit.read(split_csv_path(corpus_copy, "train"))[1][1]
    (corpus_copy.parent / "outside.wav").write_bytes(first_wav.read_bytes())
    csv_edit.cell(split_csv_path(corpus_copy, "train"), 1, "path", bad_path)
    with pytest.raises(CorpusError, match=r"train_data\.csv, line 3: path .* escapes the dataset root"):
        load_corpus(corpus_copy)


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_transcription(corpus_copy, csv_edit, value):
    csv_edit.cell(split_csv_path(corpus_copy, "valid"), 2, "transcription", value)
    with pytest.raises(CorpusError, match=r"valid_data\.csv, line 4: empty transcription"):
        load_corpus(corpus_copy)


@pytest.mark.parametrize("split", ["valid", "test"])
def test_slot_value_unseen_in_training(corpus_copy, csv_edit, split):
    csv_edit.cell(split_csv_path(corpus_copy, split), 0, "object", "umbrella")
    message = rf"{split}_data\.csv, line 2: object 'umbrella' never occurs in the training split"
    with pytest.raises(CorpusError, match=message):
        load_corpus(corpus_copy)


def test_intent_unseen_in_training(corpus_copy, csv_edit):
    corpus = load_corpus(corpus_copy)
    seen = set(corpus.labels.intents)
    # Slot values that training has, combined into a triple it lacks.
    combo = next(
        (a, o, loc)
        for a in corpus.labels.actions
        for o in corpus.labels.objects
        for loc in corpus.labels.locations
        if (a, o, loc) not in seen
    )
    path = split_csv_path(corpus_copy, "test")
    for column, value in zip(("action", "object", "location"), combo, strict=True):
        csv_edit.cell(path, 1, column, value)
    with pytest.raises(CorpusError, match=r"test_data\.csv, line 3: intent .* never occurs in the training split"):
        load_corpus(corpus_copy)


def test_duplicate_path(corpus_copy, csv_edit):
    train = csv_edit.read(split_csv_path(corpus_copy, "train"))
    csv_edit.cell(split_csv_path(corpus_copy, "valid"), 0, "path", train[1][1])
    message = r"valid_data\.csv, line 2: duplicate path .* \(first at .*train_data\.csv, line 2\)"
    with pytest.raises(CorpusError, match=message):
        load_corpus(corpus_copy)


def test_missing_split_file_and_root(corpus_copy, tmp_path):
    split_csv_path(corpus_copy, "test").unlink()
    with pytest.raises(FileNotFoundError, match=r"test_data\.csv: split file not found"):
        load_corpus(corpus_copy)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus(tmp_path / "nowhere")


def test_saved_labels_must_match_training(corpus_copy):
    import json

    meta_path = corpus_copy / "corpus.json"
    meta = json.loads(meta_path.read_text())
    meta["labels"]["actions"] = list(reversed(meta["labels"]["actions"]))
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CorpusError, match="saved label set differs"):
        load_corpus(corpus_copy)
