"""The zero-training confidence diagnostic: AUROC, mean lambda per group, the label-noise view, the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.cli import main
from crossdistill.data.corpus import Corpus, LabelSet, Utterance
from crossdistill.data.label_noise import NoisyRow, write_label_noise
from crossdistill.experiments.confidence_diagnostic import (
    auroc,
    diagnose_confidence,
    rank_auroc,
    render_diagnostic,
)
from crossdistill.teachers.text.cache import TeacherCache

INTENTS = (("activate", "lamp", "none"), ("bring", "shoes", "none"), ("deactivate", "lamp", "none"))


def test_rank_auroc_on_a_hand_example():
    # Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 0.35 beats 0.1 only, 0.8 beats both, so 3 of 4 pairs.
    assert rank_auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([False, False, True, True])) == 0.75
    # A tie counts one half: the only pair is tied.
    assert rank_auroc(np.array([2.0, 2.0]), np.array([True, False])) == 0.5
    assert rank_auroc(np.array([0.0, 1.0]), np.array([True, False])) == 0.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=60))
def test_rank_auroc_equals_scikit_learn_with_ties(pairs):
    sklearn = pytest.importorskip("sklearn.metrics")
    scores = np.array([float(s) for s, _ in pairs])
    positives = np.array([p for _, p in pairs])
    if positives.all() or not positives.any():
        assert auroc(scores, positives) is None
        return
    assert rank_auroc(scores, positives) == pytest.approx(sklearn.roc_auc_score(positives, scores))
    assert auroc(scores, positives) == pytest.approx(rank_auroc(scores, positives))


def _corpus(root: Path, labels: list[int]) -> Corpus:
    train = [
        Utterance(f"wavs/speakers/s/u{i}", root / f"wavs/speakers/s/u{i}.wav", "s", f"text {i}", *INTENTS[label])
        for i, label in enumerate(labels)
    ]
    held_out = [Utterance("wavs/speakers/t/v", root / "v.wav", "t", "v", *INTENTS[0])]
    (root / "data").mkdir(parents=True, exist_ok=True)
    label_set = LabelSet.from_utterances(train)
    return Corpus(root, {"train": train, "valid": held_out, "test": held_out}, label_set)


def _cache(corpus: Corpus, predicted: list[int], confidence: list[float], entropy: list[float]) -> TeacherCache:
    n = len(predicted)
    logits = torch.full((n, len(INTENTS)), -5.0)
    logits[torch.arange(n), torch.tensor(predicted)] = 5.0
    tensors = {"logits/intent": logits, "confidence/intent": torch.tensor(confidence),
               "entropy/intent": torch.tensor(entropy)}  # fmt: skip
    index = {"utt_ids": [u.utt_id for u in corpus.splits["train"]], "rows": list(range(n)),
             "options": {"dropout_site": "centred_logits", "n_masks": 10, "p": 0.1}}  # fmt: skip
    return TeacherCache(Path("/nowhere/cache"), index, tensors)


def test_disagreements_auroc_and_mean_lambda(tmp_path):
    labels = [0, 0, 1, 1, 2, 2]
    predicted = [0, 1, 1, 1, 2, 0]  # rows 1 and 5 disagree with their labels
    confidence = [0.1, 0.9, 0.2, 0.3, 0.1, 0.15]  # D ranks row 1 above all agreeing rows, row 5 above two of four
    entropy = [0.5, 0.0, 0.5, 0.5, 0.5, 0.5]  # H_C points the wrong way for row 1 and ties for row 5
    corpus = _corpus(tmp_path, labels)
    result = diagnose_confidence(corpus, _cache(corpus, predicted, confidence, entropy))
    assert result["teacher_error_vs_labels"] == pytest.approx(2 / 6)
    flagged = result["disagreeing"]
    assert flagged["positives"] == 2 and flagged["utterances"] == 6
    assert flagged["auroc"]["D"] == pytest.approx((4 + 2) / 8)
    assert flagged["auroc"]["H_C"] == pytest.approx((0 + 2) / 8)  # row 1 loses to all four, row 5 ties all four
    recip = [1 / (1 + d) for d in confidence]
    assert flagged["mean_lambda"]["dropout (7c)"]["flagged"] == pytest.approx((recip[1] + recip[5]) / 2)
    assert flagged["mean_lambda"]["dropout (7c)"]["others"] == pytest.approx(np.mean([recip[i] for i in (0, 2, 3, 4)]))
    assert flagged["mean_lambda"]["entropy (7b)"]["flagged"] == pytest.approx((1 / 1.0 + 1 / 1.5) / 2)
    assert flagged["mean_score"]["D"]["flagged"] == pytest.approx(0.525)
    assert "relabelled" not in result
    assert "n/a" not in render_diagnostic(result)


def test_label_noise_record_adds_the_clean_view(tmp_path):
    labels = [0, 0, 1, 1, 2, 2]  # as the CSV holds them: row 1 was relabelled from intent 2 to 0
    corpus = _corpus(tmp_path, labels)
    write_label_noise(tmp_path, [NoisyRow("wavs/speakers/s/u1.wav", INTENTS[2], INTENTS[0])])
    predicted = [0, 2, 1, 1, 2, 2]  # the teacher reads the transcript: it predicts the clean intent of row 1
    result = diagnose_confidence(corpus, _cache(corpus, predicted, [0.1, 0.5, 0.1, 0.1, 0.1, 0.1], [0.1] * 6))
    assert result["teacher_error_vs_labels"] == pytest.approx(1 / 6)
    assert result["teacher_error_vs_clean_labels"] == 0.0
    assert result["relabelled_utterances"] == 1 and result["disagreeing_that_are_relabelled"] == 1
    assert result["relabelled"]["auroc"]["D"] == 1.0
    assert result["relabelled"]["auroc"]["H_C"] == 0.5
    assert "Against the clean labels: 0.00 %" in render_diagnostic(result)


def test_no_disagreement_gives_no_auroc(tmp_path):
    corpus = _corpus(tmp_path, [0, 1, 2])
    result = diagnose_confidence(corpus, _cache(corpus, [0, 1, 2], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3]))
    assert result["disagreeing"]["auroc"] == {"D": None, "H_C": None}
    assert result["disagreeing"]["mean_lambda"]["dropout (7c)"]["flagged"] is None
    assert "| D | n/a |" in render_diagnostic(result)


def test_command_writes_json_and_markdown_from_the_pipeline_cache(pipeline, tmp_path, capsys):
    # --n-masks 20 is the pipeline cache's option: the command reuses it (same key) instead of building another.
    args = ["teacher", "diagnose", "--teacher", str(pipeline.teacher), "--corpus", str(pipeline.corpus),
            "--n-masks", "20", "--out", str(tmp_path / "diag"), "--quiet"]  # fmt: skip
    assert main(args) == 0
    result = json.loads((tmp_path / "diag" / "confidence_diagnostic.json").read_text())
    assert result["teacher_cache"] == str(pipeline.teacher_cache)
    assert result["utterances"] == result["disagreeing"]["utterances"] > 0
    assert (tmp_path / "diag" / "confidence_diagnostic.md").read_text().strip() in capsys.readouterr().out


def test_command_refuses_a_bad_option_before_work(pipeline, tmp_path, capsys):
    args = ["teacher", "diagnose", "--teacher", str(pipeline.teacher), "--corpus", str(pipeline.corpus),
            "--p", "1.5", "--out", str(tmp_path / "diag")]  # fmt: skip
    assert main(args) == 2
    assert "--p must lie in [0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "diag").exists()
