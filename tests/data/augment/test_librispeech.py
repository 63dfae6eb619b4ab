"""Augmenting the LibriSpeech-layout corpus: numeric copy speakers, CTM and TextGrid alignments, the reader's checks."""

from __future__ import annotations

import json
import shutil

import pytest

from crossdistill.data.asr.ctm import read_ctm
from crossdistill.data.asr.librispeech import load_asr_corpus
from crossdistill.data.asr.textgrid import read_textgrid, write_textgrid
from crossdistill.data.augment import AugmentOptions, augment_corpus
from crossdistill.data.augment.signal import perturbed_length

OPTIONS = AugmentOptions(speeds=(0.9, 1.0, 1.1), seed=1)  # no noise or reverberation: copies at 0.9 and 1.1


@pytest.fixture(scope="module")
def augmented_asr(asr_tiny_corpus, tmp_path_factory):
    return augment_corpus(asr_tiny_corpus, tmp_path_factory.mktemp("augmented") / "asr", OPTIONS, progress=False)


def test_training_split_gains_numeric_copy_speakers(asr_tiny_corpus, augmented_asr, tree_digest):
    source, out = load_asr_corpus(asr_tiny_corpus, progress=False), load_asr_corpus(augmented_asr, progress=False)
    digits = len(str(max(u.speaker for u in source.utterances())))
    train = source.splits["train"]
    assert len(out.splits["train"]) == 3 * len(train)
    by_id = {u.utt_id: u for u in out.splits["train"]}
    for speed, key in ((0.9, 900), (1.1, 1100)):
        for u in train:
            speaker = key * 10**digits + u.speaker
            copy = by_id[f"{speaker}-{u.chapter}-{u.utt_id.rsplit('-', 1)[1]}"]
            assert (copy.speaker, copy.chapter, copy.words) == (speaker, u.chapter, u.words)
            assert copy.num_samples == perturbed_length(u.num_samples, speed)
    for split in ("dev", "test"):
        assert [u.utt_id for u in out.splits[split]] == [u.utt_id for u in source.splits[split]]
    before, after = tree_digest(asr_tiny_corpus), tree_digest(augmented_asr)
    kept = [p for p in before if p not in ("corpus.json", "alignments/train.words.ctm", "alignments/train.phones.ctm")]
    assert {p: after[p] for p in kept} == {p: before[p] for p in kept}  # dev/test, originals, lexicon, LM text
    metadata = json.loads((augmented_asr / "corpus.json").read_text())
    assert metadata["format"] == metadata["options"]["format"] == "crossdistill-augmented-librispeech"
    assert metadata["counts"]["train"]["utterances"] == 3 * len(train)
    assert metadata["counts"]["dev"] == json.loads((asr_tiny_corpus / "corpus.json").read_text())["counts"]["dev"]
    assert metadata["augmentation"]["copies"]["0.9"]["speakers"] == {
        str(900 * 10**digits + s): str(s) for s in sorted({u.speaker for u in train})
    }


def test_copies_ctm_times_are_the_originals_over_the_factor(asr_tiny_corpus, augmented_asr):
    out = load_asr_corpus(augmented_asr, progress=False)
    digits = len(str(max(u.speaker for u in load_asr_corpus(asr_tiny_corpus, progress=False).utterances())))
    checked = 0
    for tier in ("words", "phones"):
        original, augmented = (
            read_ctm(root / "alignments" / f"train.{tier}.ctm") for root in (asr_tiny_corpus, augmented_asr)
        )
        assert {k: augmented[k] for k in original} == original
        for speed, key in ((0.9, 900), (1.1, 1100)):
            for utt_id, segments in original.items():
                speaker, rest = utt_id.split("-", 1)
                copy_id = f"{key * 10**digits + int(speaker)}-{rest}"
                duration = next(u for u in out.splits["train"] if u.utt_id == copy_id).duration
                copy = augmented[copy_id]
                assert [s.label for s in copy] == [s.label for s in segments]
                for a, b in zip(segments, copy, strict=True):
                    assert b.start == pytest.approx(round(min(a.start / speed, duration), 3), abs=1e-9)
                    assert b.end == pytest.approx(round(min(a.end / speed, duration), 3), abs=1e-9)
                    checked += 1
    assert checked > 500
    # The reader's phone tiling covers each copy from 0 to its end.
    for u in out.splits["train"]:
        phones = out.alignments["train"][u.utt_id].phones
        assert phones[0].start == 0 and phones[-1].end == pytest.approx(u.duration, abs=1e-9)


def test_textgrid_alignments_get_a_textgrid_per_copy(asr_tiny_corpus, tmp_path):
    source = tmp_path / "grids"
    shutil.copytree(asr_tiny_corpus, source)
    corpus = load_asr_corpus(source, progress=False)
    for split, utterances in corpus.splits.items():
        for u in utterances:
            alignment = corpus.alignments[split][u.utt_id]
            grid = source / "alignments" / str(u.speaker) / f"{u.utt_id}.TextGrid"
            write_textgrid(grid, alignment.words, alignment.phones, u.duration)
    for ctm in (source / "alignments").glob("*.ctm"):
        ctm.unlink()
    out = augment_corpus(source, tmp_path / "out", AugmentOptions(speeds=(0.9,)), progress=False)
    augmented = load_asr_corpus(out, progress=False)
    assert len(augmented.splits["train"]) == 2 * len(corpus.splits["train"])
    for u in corpus.splits["train"][:3]:
        copy_speaker = 900 * 10**4 + u.speaker
        copy_id = f"{copy_speaker}-{u.utt_id.split('-', 1)[1]}"
        grid = read_textgrid(out / "alignments" / str(copy_speaker) / f"{copy_id}.TextGrid")
        original = read_textgrid(source / "alignments" / str(u.speaker) / f"{u.utt_id}.TextGrid")
        assert [w.label for w in grid.words] == [w.label for w in original.words]
        assert [w.start for w in grid.words] == pytest.approx([w.start / 0.9 for w in original.words], abs=1e-6)
        assert augmented.alignments["train"][copy_id].words[-1].end == pytest.approx(
            original.words[-1].end / 0.9, abs=1e-6
        )


def test_a_copy_too_short_to_read_is_refused_before_writing(asr_tiny_corpus, tmp_path):
    with pytest.raises(ValueError, match=r"--speed 500 makes the copy of .* shorter than 400 samples"):
        augment_corpus(asr_tiny_corpus, tmp_path / "out", AugmentOptions(speeds=(500.0,)), progress=False)
    assert list(tmp_path.iterdir()) == []
