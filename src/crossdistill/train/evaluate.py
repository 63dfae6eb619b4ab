"""Scoring a trained student on a corpus split: intent error, each slot's error, and the confusions of intents.

An utterance counts as right only when its whole intent (action, object and location) is right, as in paper 000's
Table I and Lugosch et al.; each slot's error counts that slot alone. Predictions are compared by name, so a corpus
whose label set differs from the model's can be scored (an intent the model never saw is always an error).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from crossdistill.common import atomic_write_text
from crossdistill.data.corpus import load_corpus
from crossdistill.students.intent import SLOT_HEADS
from crossdistill.train.acoustic_inputs import load_acoustic_input
from crossdistill.train.predict import Predictor

EVALUATION_DIR = "evaluation"
TOP_CONFUSIONS = 15  # rows of the markdown's confusion table


def evaluate_model(
    model_dir: str | Path,
    corpus_dir: str | Path,
    split: str = "test",
    out: str | Path | None = None,
    batch_size: int = 16,
) -> dict[str, Any]:
    """Score ``model_dir`` (a run folder or its ``model/``) on ``split`` of the corpus at ``corpus_dir``; write
    ``<split>.json`` and ``<split>.md`` to ``out`` (default ``<model_dir>/evaluation``) and return the JSON's dict."""
    predictor = Predictor(model_dir)  # a bad model folder fails before the corpus is read
    corpus = load_corpus(corpus_dir)
    if split not in corpus.splits:
        raise ValueError(f"--split {split!r} is unknown; the corpus has {', '.join(corpus.splits)}")
    utterances = corpus.splits[split]
    truth, predicted = [], []
    for start in range(0, len(utterances), batch_size):
        batch = utterances[start : start + batch_size]
        probabilities = predictor.probabilities([load_acoustic_input(u, predictor.student.acoustic) for u in batch])
        for row, utterance in enumerate(batch):
            described = predictor.describe(probabilities, row)
            truth.append(utterance.intent)
            predicted.append(tuple(described[slot] for slot in SLOT_HEADS))
    result = score_predictions(truth, predicted)
    result = {"model": str(Path(model_dir).absolute()), "corpus": str(corpus.root), "split": split, **result}
    folder = Path(out) if out is not None else Path(model_dir) / EVALUATION_DIR
    atomic_write_text(folder / f"{split}.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(folder / f"{split}.md", render_markdown(result) + "\n")
    result["written"] = [str(folder / f"{split}.json"), str(folder / f"{split}.md")]
    return result


def evaluate_test_sets(
    model_dir: str | Path, corpus_dir: str | Path, out: str | Path | None = None, batch_size: int = 16
) -> dict[str, dict[str, Any]]:
    """``evaluate_model`` on every test set of the corpus: ``test`` and, for an unseen-engine corpus,
    ``test_unseen_engine`` (``Corpus.test_splits``); returns each split's result."""
    splits = load_corpus(corpus_dir, check_audio=False).test_splits()
    return {split: evaluate_model(model_dir, corpus_dir, split, out, batch_size) for split in splits}


def score_predictions(truth: list[tuple[str, str, str]], predicted: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Intent error, per-slot errors, per-intent errors and every (true, predicted) pair's count."""
    if not truth or len(truth) != len(predicted):
        raise ValueError(f"need as many predictions as utterances (>= 1), got {len(predicted)} for {len(truth)}")
    n = len(truth)
    pairs = Counter(zip(truth, predicted, strict=True))
    per_intent = {}
    for intent in sorted(set(truth)):
        total = sum(count for (t, _), count in pairs.items() if t == intent)
        wrong = sum(count for (t, p), count in pairs.items() if t == intent and p != intent)
        per_intent["/".join(intent)] = {"utterances": total, "errors": wrong, "error": wrong / total}
    rows = list(zip(truth, predicted, strict=True))
    return {
        "utterances": n,
        "intent_error": sum(t != p for t, p in rows) / n,
        "slot_errors": {slot: sum(t[k] != p[k] for t, p in rows) / n for k, slot in enumerate(SLOT_HEADS)},
        "per_intent": per_intent,
        "confusions": [
            {"true": "/".join(t), "predicted": "/".join(p), "count": count}
            for (t, p), count in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
        ],
    }


def render_markdown(result: dict[str, Any]) -> str:
    errors = [result["intent_error"], *result["slot_errors"].values()]
    lines = [
        f"# Evaluation on the {result['split']} split",
        "",
        f"Model `{result['model']}`, corpus `{result['corpus']}`, {result['utterances']} utterances. An utterance is "
        "right only when its whole intent (action, object, location) is.",
        "",
        "| intent error (%) | action error (%) | object error (%) | location error (%) |",
        "|---|---|---|---|",
        "| " + " | ".join(f"{100 * e:.2f}" for e in errors) + " |",
        "",
        f"## Most frequent confusions (true -> predicted; at most {TOP_CONFUSIONS})",
        "",
        "| true intent | predicted intent | utterances |",
        "|---|---|---|",
    ]
    wrong = [c for c in result["confusions"] if c["true"] != c["predicted"]][:TOP_CONFUSIONS]
    lines += [f"| {c['true']} | {c['predicted']} | {c['count']} |" for c in wrong] or ["| (none) | | |"]
    lines += ["", "## Error per intent", "", "| intent | utterances | errors | error (%) |", "|---|---|---|---|"]
    lines += [
        f"| {intent} | {row['utterances']} | {row['errors']} | {100 * row['error']:.2f} |"
        for intent, row in result["per_intent"].items()
    ]
    return "\n".join(lines)
