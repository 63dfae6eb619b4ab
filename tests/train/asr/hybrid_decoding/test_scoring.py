"""WER parts per utterance and pooled, sentence errors and the OOV rate."""

from __future__ import annotations

import pytest

from crossdistill.train.asr.hybrid_decoding.scoring import score_corpus, score_utterance


def test_edit_counts_and_pooled_rates():
    references = {"a": ("THE", "CAT", "SAT"), "b": ("A", "DOG"), "c": ("HELLO",)}
    hypotheses = {"a": ["THE", "BAT"], "b": ["A", "DOG", "RAN"], "c": ["HELLO"]}
    summary, rows = score_corpus(references, hypotheses, vocabulary={"THE", "CAT", "SAT", "A", "HELLO"})
    a, b, c = rows
    assert (a.substitutions, a.deletions, a.insertions) == (1, 1, 0)
    assert (b.substitutions, b.deletions, b.insertions) == (0, 0, 1)
    assert c.errors == 0
    assert summary["wer"] == pytest.approx(3 / 6, abs=1e-6)
    assert (summary["substitutions"], summary["deletions"], summary["insertions"]) == (1, 1, 1)
    assert summary["sentence_error_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert summary["oov_rate"] == pytest.approx(1 / 6, abs=1e-6) and summary["oov_words"] == ["DOG"]
    assert b.oov == ("DOG",) and b.to_dict()["hypothesis"] == "A DOG RAN"


def test_an_empty_hypothesis_is_all_deletions():
    row = score_utterance("u", ("ONE", "TWO"), [], vocabulary={"ONE", "TWO"})
    assert (row.substitutions, row.deletions, row.insertions) == (0, 2, 0)


def test_missing_hypotheses_and_empty_references_are_errors():
    with pytest.raises(ValueError, match="no hypothesis for 1 utterance"):
        score_corpus({"a": ("X",), "b": ("Y",)}, {"a": ["X"]}, vocabulary=set())
    with pytest.raises(ValueError, match="u: empty reference"):
        score_utterance("u", (), ["X"], vocabulary=set())
