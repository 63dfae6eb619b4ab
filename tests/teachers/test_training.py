"""Fine-tuning: both teachers learn the tiny synthetic corpus, metrics are honest, training is deterministic."""

from __future__ import annotations

import json

import pytest
import torch

from crossdistill.teachers.text import TrainOptions, build_corpus_examples, load_teacher, predict, train_teacher
from crossdistill.teachers.text.training import compute_loss


def accuracy_on_corpus(teacher_dir, corpus) -> dict[str, float]:
    """Intent accuracy of a saved teacher on every utterance's transcript, per split (independent of metrics)."""
    teacher = load_teacher(teacher_dir)
    result = {}
    for split, utterances in corpus.splits.items():
        logits, _ = predict(teacher, [u.transcription for u in utterances])
        truth = torch.tensor([corpus.labels.encode_intent(u) for u in utterances])
        result[split] = float((logits["intent"].argmax(-1) == truth).double().mean())
    return result


@pytest.mark.parametrize("fixture", ["scratch_teacher", "minilm_teacher"])
def test_teacher_learns_the_tiny_synthetic_corpus(fixture, teacher_corpus, request):
    teacher_dir, metrics = request.getfixturevalue(fixture)
    accuracy = accuracy_on_corpus(teacher_dir, teacher_corpus)
    assert min(accuracy.values()) >= 0.95, accuracy
    # metrics.json reports the same errors, counted per utterance.
    saved = json.loads((teacher_dir / "metrics.json").read_text())
    assert saved["splits"] == metrics["splits"]
    for split, acc in accuracy.items():
        assert saved["splits"][split]["intent_error"] == pytest.approx(1 - acc, abs=1e-9)
        assert saved["splits"][split]["utterances"] == len(teacher_corpus.splits[split])
    assert (teacher_dir / "train.log").read_text().count("text error") == 3


def test_training_counts_unique_pairs_and_every_utterance(scratch_teacher, teacher_corpus):
    _, metrics = scratch_teacher
    examples = build_corpus_examples(teacher_corpus)
    train = metrics["splits"]["train"]
    # The 3 training speakers say 300 utterances of the 255 phrasings: deduplicated, not dropped.
    assert train["utterances"] == len(teacher_corpus.splits["train"]) == 300
    assert train["unique_pairs"] == len(examples["train"]) == 255
    assert 1 <= metrics["selected_epoch"] <= len(metrics["history"]) == 12


def test_count_weighting_equals_the_per_utterance_loss():
    torch.manual_seed(0)
    logits = {"intent": torch.randn(4, 5), "action": torch.randn(4, 3)}
    targets = {"intent": torch.tensor([0, 1, 2, 3]), "action": torch.tensor([0, 1, 2, 0])}
    counts = torch.tensor([3.0, 1.0, 2.0, 1.0])
    rows = torch.repeat_interleave(torch.arange(4), counts.long())
    expanded = compute_loss(
        {h: v[rows] for h, v in logits.items()}, {h: v[rows] for h, v in targets.items()}, torch.ones(len(rows))
    )
    torch.testing.assert_close(compute_loss(logits, targets, counts), expanded)


def test_training_is_deterministic_given_the_seed(tiny_corpus, tmp_path):
    from crossdistill.data.corpus import load_corpus

    corpus = load_corpus(tiny_corpus)
    options = {"arch": "scratch", "epochs": 2, "embedding_dim": 16, "hidden_dim": 16, "threads": 1, "progress": False}
    train_teacher(corpus, tmp_path / "a", TrainOptions(seed=1, **options))
    train_teacher(corpus, tmp_path / "b", TrainOptions(seed=1, **options))
    train_teacher(corpus, tmp_path / "c", TrainOptions(seed=2, weighting="count", heads="intent+slots", **options))
    weights = {name: (tmp_path / name / "model.safetensors").read_bytes() for name in "abc"}
    assert weights["a"] == weights["b"]
    assert weights["a"] != weights["c"]
    assert load_teacher(tmp_path / "c").config.heads == ("intent", "action", "object", "location")
    slots = json.loads((tmp_path / "c" / "metrics.json").read_text())["splits"]["train"]
    assert 0.0 <= slots["slots_error"] <= 1.0


def test_out_folder_is_never_clobbered_without_overwrite(tiny_corpus, tmp_path):
    from crossdistill.data.corpus import load_corpus

    corpus = load_corpus(tiny_corpus)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    options = TrainOptions(arch="scratch", epochs=1, embedding_dim=8, hidden_dim=8, threads=1, progress=False)
    with pytest.raises(ValueError, match="exists and is not empty"):
        train_teacher(corpus, tmp_path / "busy", options)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]  # no temporary folder left behind
    train_teacher(corpus, tmp_path / "busy", options, overwrite=True)
    assert (tmp_path / "busy" / "teacher.json").is_file() and not (tmp_path / "busy" / "notes.txt").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"heads": "slots"}, "--heads"),
        ({"weighting": "sqrt"}, "--weighting"),
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "lr"),
    ],
)
def test_bad_options_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        TrainOptions(**overrides)
