"""Augmenting the FSC-layout corpus: layout, counts, rescaled alignments, label noise, determinism."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import soundfile
import torch

from crossdistill.data.alignments import frame_labels, load_alignments, load_phoneme_inventory
from crossdistill.data.augment import AugmentOptions, augment_corpus
from crossdistill.data.augment.fsc import copy_path
from crossdistill.data.augment.signal import perturbed_length
from crossdistill.data.corpus import alignment_path, load_corpus, split_csv_path
from crossdistill.data.label_noise import NoisyRow, read_label_noise, write_label_noise

SPEEDS = (0.9, 1.0, 1.1)  # the module's options: noise on, so 1.0 gives a copy too


def test_copy_paths_carry_kaldis_prefix():
    assert (
        copy_path("wavs/speakers/spk003/spk003_0007.wav", "sp0.9-")
        == "wavs/speakers/sp0.9-spk003/sp0.9-spk003_0007.wav"
    )
    assert copy_path("./a/b.flac", "sp1.1-") == "sp1.1-a/sp1.1-b.wav"
    assert copy_path("b.wav", "sp1.1-") == "sp1.1-b.wav"


def test_layout_counts_and_labels(tiny_corpus, augmented_fsc):
    source, out = load_corpus(tiny_corpus), load_corpus(augmented_fsc)
    train = source.splits["train"]
    assert len(out.splits["train"]) == len(train) * (1 + len(SPEEDS))
    moved = [dataclasses.replace(u, audio_path=augmented_fsc / u.audio_path.relative_to(tiny_corpus)) for u in train]
    assert out.splits["train"][: len(train)] == moved
    assert out.labels == source.labels
    speakers = {u.speaker_id for u in train}
    expected = speakers | {f"sp{s}-{spk}" for s in SPEEDS for spk in speakers}
    assert {u.speaker_id for u in out.splits["train"]} == expected
    for k, speed in enumerate(SPEEDS, start=1):
        copies = out.splits["train"][k * len(train) : (k + 1) * len(train)]
        for original, copy in zip(train, copies, strict=True):
            assert copy.speaker_id == f"sp{speed}-{original.speaker_id}"
            assert (copy.transcription, copy.intent) == (original.transcription, original.intent)
            n_in, n_out = soundfile.info(original.audio_path).frames, soundfile.info(copy.audio_path).frames
            assert n_out == perturbed_length(n_in, speed)
    metadata = json.loads((augmented_fsc / "corpus.json").read_text())
    assert metadata["format"] == "crossdistill-augmented-fsc"
    assert metadata["splits"]["train"] == sorted(speakers) + [
        f"sp{s}-{spk}" for s in SPEEDS for spk in sorted(speakers)
    ]
    recorded = metadata["augmentation"]
    assert recorded["source"]["fingerprint"] == source.fingerprint()
    assert recorded["options"]["seed"] == 7 and recorded["options"]["speeds"] == list(SPEEDS)
    records = [json.loads(line) for line in (augmented_fsc / "augmentation.jsonl").read_text().splitlines()]
    assert [r["utt_id"] for r in records] == [u.utt_id for u in out.splits["train"][len(train) :]]
    assert all(0.0 <= r["snr_db"] <= 20.0 and r["noise"] in ("white", "pink", "brown") for r in records)
    assert 0 < recorded["reverberated"] == sum(r["room"] is not None for r in records) < len(records)


def test_valid_and_test_are_taken_over_unchanged(tiny_corpus, augmented_fsc, tree_digest):
    before, after = tree_digest(tiny_corpus), tree_digest(augmented_fsc)
    unchanged = {path for path in before if not path.startswith(("data/train_", "corpus.json"))}
    assert {path: after[path] for path in unchanged} == {path: before[path] for path in unchanged}
    for split in ("valid", "test"):
        assert split_csv_path(augmented_fsc, split).read_bytes() == split_csv_path(tiny_corpus, split).read_bytes()
    original_lines = alignment_path(tiny_corpus, "train").read_text().splitlines()
    assert alignment_path(augmented_fsc, "train").read_text().splitlines()[: len(original_lines)] == original_lines


def test_copies_alignments_are_the_originals_over_the_factor(tiny_corpus, augmented_fsc):
    source, out = load_corpus(tiny_corpus), load_corpus(augmented_fsc)
    originals = load_alignments(source, "train")
    copies = load_alignments(out, "train")
    entries = {json.loads(line)["utt_id"]: json.loads(line) for line in alignment_path(augmented_fsc, "train").open()}
    train = source.splits["train"]
    checked = 0
    for k, speed in enumerate(SPEEDS, start=1):
        for original, copy in zip(train, out.splits["train"][k * len(train) : (k + 1) * len(train)], strict=True):
            duration = soundfile.info(copy.audio_path).frames / 16000
            assert entries[copy.utt_id]["duration"] == round(duration, 4)
            for tier in ("words", "phonemes"):
                before, after = getattr(originals[original.utt_id], tier), getattr(copies[copy.utt_id], tier)
                assert [s.label for s in after] == [s.label for s in before]
                for a, b in zip(before, after, strict=True):
                    assert b.start == round(min(a.start / speed, duration), 4)
                    assert b.end == round(min(a.end / speed, duration), 4)
                    checked += 1
    assert checked > 100
    # Frame-wise targets (acoustic pre-training) come out of a copy's alignment as from any other.
    inventory = {p: i for i, p in enumerate(load_phoneme_inventory(out))}
    some_copy = out.splits["train"][-1].utt_id
    labels = frame_labels(copies[some_copy].phonemes, 200, 0.01, inventory)
    assert labels.dtype == torch.long and (labels >= 0).sum() > 50


def test_copies_differ_from_their_originals_by_the_recorded_noise(tiny_corpus, augmented_fsc):
    source, out = load_corpus(tiny_corpus), load_corpus(augmented_fsc)
    records = {json.loads(line)["utt_id"]: json.loads(line) for line in (augmented_fsc / "augmentation.jsonl").open()}
    train, checked = source.splits["train"], 0
    ones = out.splits["train"][2 * len(train) : 3 * len(train)]  # the 1.0 copies
    for original, copy in zip(train, ones, strict=True):
        record = records[copy.utt_id]
        clean, _ = soundfile.read(original.audio_path)
        noisy, _ = soundfile.read(copy.audio_path)
        if record["room"] is not None or np.max(np.abs(noisy)) >= 0.98:
            continue  # reverberation changes the clean part too; a copy that would clip is scaled down
        snr = 10 * np.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2))
        assert abs(snr - record["snr_db"]) < 0.1  # 16-bit rounding and the 2-decimal record
        checked += 1
    assert checked >= 3


def test_same_options_give_the_same_bytes_with_any_jobs(
    tiny_corpus, augmented_fsc, augment_options, tree_digest, tmp_path
):
    again = augment_corpus(tiny_corpus, tmp_path / "again", augment_options, jobs=2, progress=False)
    assert tree_digest(again) == tree_digest(augmented_fsc)
    other_seed = dataclasses.replace(augment_options, seed=8)
    different = augment_corpus(tiny_corpus, tmp_path / "other", other_seed, progress=False)
    assert tree_digest(different)["augmentation.jsonl"] != tree_digest(augmented_fsc)["augmentation.jsonl"]


def test_label_noise_follows_the_relabelled_rows_into_their_copies(corpus_copy, csv_edit, tmp_path):
    corpus = load_corpus(corpus_copy)
    first = corpus.splits["train"][0]
    wrong = next(i for i in corpus.labels.intents if i != first.intent)
    for column, value in zip(("action", "object", "location"), wrong, strict=True):
        csv_edit.cell(split_csv_path(corpus_copy, "train"), 0, column, value)
    path = f"{first.utt_id}.wav"
    write_label_noise(corpus_copy, [NoisyRow(path, first.intent, wrong)])
    out = augment_corpus(corpus_copy, tmp_path / "out", AugmentOptions(speeds=(0.9, 1.1)), progress=False)
    noise = read_label_noise(load_corpus(out))
    assert sorted(noise) == sorted([first.utt_id, *(copy_path(path, p)[:-4] for p in ("sp0.9-", "sp1.1-"))])
    assert {(row.clean, row.noisy) for row in noise.values()} == {(first.intent, wrong)}
