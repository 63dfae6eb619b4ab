"""Acoustic pre-training: targets at the model's rates, above-chance frame accuracy, exact resume, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from crossdistill.data.alignments import load_alignments
from crossdistill.data.corpus import load_corpus
from crossdistill.data.loading import collate_speech
from crossdistill.students import AcousticModule, acoustic_preset
from crossdistill.train.pretrain import PretrainOptions, masked_cross_entropy, pretrain_acoustic
from crossdistill.train.pretrain_data import MissingAlignmentsError, PretrainDataModule, build_vocabularies


@pytest.fixture(scope="module")
def corpus72(tmp_path_factory) -> Path:
    """72 utterances (48 train): the least that shows learning within seconds."""
    from crossdistill.data.synth import synthesize_corpus

    root = tmp_path_factory.mktemp("pretrain_corpus") / "corpus"
    return synthesize_corpus(root, preset="tiny", speakers=6, utterances_per_speaker=12, seed=0, jobs=2, progress=False)


@pytest.fixture(autouse=True)
def one_thread():
    """Pre-training runs use one thread here (fast on a shared machine); restore the setting afterwards."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def options(corpus: Path, out: Path, **changes) -> PretrainOptions:
    base = {"preset": "tiny", "frontend": "sincnet", "epochs": 8, "batch_size": 8, "lr": 0.01, "seed": 0}
    base.update(changes)
    return PretrainOptions(corpus=str(corpus), out=str(out), progress=False, threads=1, **base)


@pytest.mark.parametrize("frontend", ["sincnet", "logmel"])
def test_targets_follow_alignments_at_the_module_rates(tiny_corpus, tmp_path, frontend):
    corpus = load_corpus(tiny_corpus)
    phonemes, words = build_vocabularies(corpus)
    module = AcousticModule(acoustic_preset("tiny", frontend, len(phonemes), len(words))).eval()
    shifts = (module.phoneme_frame_shift_s, module.word_frame_shift_s)
    data = PretrainDataModule(
        corpus, module.config, module.output_lengths, shifts, phonemes, words, cache_dir=tmp_path, progress=False
    )
    data.setup()
    dataset = data.datasets["valid"]
    alignments = load_alignments(corpus, "valid")
    items = [dataset[i] for i in range(len(dataset))]
    for item in items:
        for level, segments, vocab, shift in (
            ("phoneme", alignments[item["utt_id"]].phonemes, phonemes, shifts[0]),
            ("word", alignments[item["utt_id"]].words, words, shifts[1]),
        ):
            targets = item[f"{level}_targets"].tolist()
            for j, target in enumerate(targets):
                centre = (j + 0.5) * shift
                # the segment holding the frame centre; gaps and words unseen in training are ignored (-100)
                inside = [s.label for s in segments if s.start <= centre < s.end and s.label in vocab]
                assert target == (vocab.index(inside[0]) if inside else -100), (level, j)
            assert any(t >= 0 for t in targets)
    batch = collate_speech(items)
    out = module(batch["features" if frontend == "logmel" else "waveform"], batch["lengths"])
    assert batch["phoneme_targets"].shape == out.phoneme_logits.shape[:2]
    assert batch["word_targets"].shape == out.word_logits.shape[:2]
    assert out.phoneme_lengths.tolist() == [len(i["phoneme_targets"]) for i in items]


def test_masked_cross_entropy_ignores_unlabelled_frames():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 2.0], [9.0, -9.0]]])
    targets = torch.tensor([[0, 1, -100]])
    expected = torch.nn.functional.cross_entropy(logits[0, :2], targets[0, :2])
    torch.testing.assert_close(masked_cross_entropy(logits, targets), expected)
    assert masked_cross_entropy(logits, torch.full((1, 3), -100)).item() == 0.0


def test_pretraining_beats_chance_and_resumes_exactly(corpus72, tmp_path):
    interrupted = tmp_path / "interrupted"
    first = pretrain_acoustic(options(corpus72, interrupted, epochs=4))
    assert first["epochs"] == 4 and first["resumed_after_epochs"] is None
    resumed = pretrain_acoustic(options(corpus72, interrupted, epochs=8))  # the same command, more epochs
    assert resumed["resumed_after_epochs"] == 4 and resumed["epochs"] == 8
    straight = pretrain_acoustic(options(corpus72, tmp_path / "straight", epochs=8))
    # the resumed run repeats the uninterrupted one bit for bit (batch order and dropout RNG restored)
    a, b = load_file(interrupted / "model.safetensors"), load_file(tmp_path / "straight" / "model.safetensors")
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert resumed["valid"] == straight["valid"] and resumed["test"] == straight["test"]

    metrics = json.loads((interrupted / "metrics.json").read_text())
    assert metrics["frame_shift_s"] == {"phoneme": 0.04, "word": 0.16}
    for split in ("valid", "test"):
        scores = metrics[split]
        # above the majority-class frame accuracy of the same split (a constant guess)
        assert scores["phoneme_frame_accuracy"] > 1.3 * scores["phoneme_majority_accuracy"], scores
    for name in ("model.safetensors", "config.json", "vocab.json", "checkpoints/last.ckpt", "checkpoints/best.ckpt"):
        assert (interrupted / name).is_file(), name
    assert (interrupted / "logs" / "csv" / "metrics.csv").is_file()

    module = AcousticModule.from_pretrained(interrupted)
    vocab = json.loads((interrupted / "vocab.json").read_text())
    assert module.config.n_phonemes == len(vocab["phonemes"]) == metrics["n_phonemes"]
    assert module.config.n_words == len(vocab["words"]) == metrics["n_words"]
    best = torch.load(interrupted / metrics["best_checkpoint"], weights_only=True)["state_dict"]
    saved = load_file(interrupted / "model.safetensors")
    assert all(torch.equal(best[f"module.{name}"], saved[name]) for name in saved), "saves the selected epoch"


def test_rerun_with_other_settings_is_refused(tiny_corpus, tmp_path):
    pretrain_acoustic(options(tiny_corpus, tmp_path / "run", epochs=1, max_utterances=4))
    with pytest.raises(ValueError, match=r"other settings \(lr differ\)"):
        pretrain_acoustic(options(tiny_corpus, tmp_path / "run", epochs=1, max_utterances=4, lr=0.5))


def test_corpus_without_alignments_says_what_to_do(tiny_corpus, tmp_path):
    copy = tmp_path / "no_alignments"
    shutil.copytree(tiny_corpus, copy, ignore=shutil.ignore_patterns("*_alignments.jsonl"))
    with pytest.raises(MissingAlignmentsError, match="alignments") as error:
        pretrain_acoustic(options(copy, tmp_path / "out"))
    assert "acoustic=" in str(error.value) and "crossdistill data synth" in str(error.value)
    assert not (tmp_path / "out").exists(), "nothing is written for a corpus that cannot be used"
