"""A zero-training test of the premise behind paper 000's eq. 7b/7c: does the teacher's uncertainty flag its mistakes?

On the training split, with the labels the students train on (noisy ones when the corpus has label noise), an
utterance is *disagreeing* when the teacher's prediction (the argmax of its cached intent logits) differs from its
label. For each uncertainty score of the teacher cache, D (paper 000 eq. 4, in the cache's reading) and H_C (eq. 3):

- the AUROC of the score for flagging disagreeing utterances: 1 when every disagreeing utterance scores higher than
  every agreeing one, 0.5 for a score that knows nothing, below 0.5 when the score points the wrong way;
- the mean weight lambda that the score's decision gives agreeing and disagreeing utterances: recip(D) (eq. 7c) and
  recip(H_C) (eq. 7b), computed by the distillation core's registered decisions. Only the decision factor: a schedule
  (6a, 6b) multiplies both groups alike.

If the premise holds, the proposed weighting gives less weight exactly where the teacher contradicts the label. When
the corpus records label noise (``crossdistill.data.label_noise``), the same numbers are given for flagging the
relabelled utterances, and the teacher's error against the clean labels is reported beside its error against the
noisy ones. Utterances that share a transcript share the teacher's outputs (ties count one half in the AUROC).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from crossdistill.common import atomic_write_text
from crossdistill.data.corpus import Corpus
from crossdistill.data.label_noise import read_label_noise
from crossdistill.kd import DECISIONS, DecisionInputs
from crossdistill.teachers.text.cache import TeacherCache

PAPER_TEACHER_TRAIN_ERROR = 0.0378  # paper 000, Table I: the text teacher's training error on FSC (test: 0 %)
JSON_FILE = "confidence_diagnostic.json"
MARKDOWN_FILE = "confidence_diagnostic.md"
# score name -> (cache tensor prefix, the registered decision that turns it into lambda, its equation)
SCORES = {"D": ("confidence", "dropout", "7c"), "H_C": ("entropy", "entropy", "7b")}
DECISION_INPUTS = {"dropout": "teacher_confidence", "entropy": "teacher_entropy"}  # the DecisionInputs field each reads


def auroc(scores: np.ndarray, positives: np.ndarray) -> float | None:
    """Area under the ROC curve of ``scores`` for ``positives`` (bool); None when one class is empty.

    scikit-learn's ``roc_auc_score`` when it is installed (it is not a dependency), else :func:`rank_auroc`.
    """
    positives = np.asarray(positives, dtype=bool)
    if positives.all() or not positives.any():
        return None
    try:
        from sklearn.metrics import roc_auc_score
    except ImportError:
        return rank_auroc(scores, positives)
    return float(roc_auc_score(positives, scores))


def rank_auroc(scores: np.ndarray, positives: np.ndarray) -> float:
    """AUROC as the Mann-Whitney statistic: the chance that a random positive outscores a random negative, ties
    counting one half (average ranks)."""
    from scipy.stats import rankdata

    positives = np.asarray(positives, dtype=bool)
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass(frozen=True)
class Flagging:
    """How well each score flags one group of utterances (``positives``) among the training split."""

    positives: int
    utterances: int
    auroc: dict[str, float | None]  # score -> AUROC (None: no positive or no negative)
    mean_score: dict[str, dict[str, float | None]]  # score -> {"flagged": mean over positives, "others": ...}
    mean_lambda: dict[str, dict[str, float | None]]  # decision -> {"flagged": ..., "others": ...}

    def to_dict(self) -> dict[str, Any]:
        return {"positives": self.positives, "utterances": self.utterances, "auroc": self.auroc,
                "mean_score": self.mean_score, "mean_lambda": self.mean_lambda}  # fmt: skip


def _mean(values: np.ndarray, mask: np.ndarray) -> float | None:
    return float(values[mask].mean()) if mask.any() else None


def flagging(scores: dict[str, np.ndarray], lambdas: dict[str, np.ndarray], positives: np.ndarray) -> Flagging:
    positives = np.asarray(positives, dtype=bool)
    return Flagging(
        positives=int(positives.sum()),
        utterances=len(positives),
        auroc={name: auroc(values, positives) for name, values in scores.items()},
        mean_score={n: {"flagged": _mean(v, positives), "others": _mean(v, ~positives)} for n, v in scores.items()},
        mean_lambda={n: {"flagged": _mean(v, positives), "others": _mean(v, ~positives)} for n, v in lambdas.items()},
    )


def diagnose_confidence(corpus: Corpus, cache: TeacherCache, head: str = "intent") -> dict[str, Any]:
    """The diagnostic on ``corpus``'s training split from ``cache`` (built for that corpus), as a JSON-ready dict."""
    train = corpus.splits["train"]
    tensors = cache.lookup([u.utt_id for u in train])
    missing = [f"{prefix}/{head}" for prefix, _, _ in SCORES.values() if f"{prefix}/{head}" not in tensors]
    if f"logits/{head}" not in tensors or missing:
        raise ValueError(f"teacher cache {cache.path} lacks logits/{head} or {missing}: it has {list(tensors)}")
    predicted = tensors[f"logits/{head}"].argmax(-1).numpy()
    labels = np.array([corpus.labels.encode_intent(u) for u in train])
    disagree = predicted != labels
    scores = {name: tensors[f"{prefix}/{head}"].double().numpy() for name, (prefix, _, _) in SCORES.items()}
    lambdas = {}
    for name, (_, decision, equation) in SCORES.items():
        inputs = DecisionInputs(batch_size=len(train), **{DECISION_INPUTS[decision]: torch.from_numpy(scores[name])})
        lambdas[f"{decision} ({equation})"] = DECISIONS.get(decision)(inputs).double().numpy()
    result: dict[str, Any] = {
        "corpus": str(corpus.root),
        "teacher_cache": str(cache.path),
        "cache_options": cache.index["options"],
        "head": head,
        "split": "train",
        "utterances": len(train),
        "teacher_error_vs_labels": float(disagree.mean()),
        "paper_teacher_train_error": PAPER_TEACHER_TRAIN_ERROR,
        "disagreeing": flagging(scores, lambdas, disagree).to_dict(),
    }
    noise = read_label_noise(corpus)
    if noise is not None:
        relabelled = np.array([u.utt_id in noise for u in train])
        intent_ids = {intent: i for i, intent in enumerate(corpus.labels.intents)}
        clean = np.array([intent_ids[noise[u.utt_id].clean] if u.utt_id in noise else label
                          for u, label in zip(train, labels, strict=True)])  # fmt: skip
        result["relabelled_utterances"] = int(relabelled.sum())
        result["teacher_error_vs_clean_labels"] = float((predicted != clean).mean())
        result["disagreeing_that_are_relabelled"] = int((disagree & relabelled).sum())
        result["relabelled"] = flagging(scores, lambdas, relabelled).to_dict()
    return result


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def render_flagging(title: str, flag: dict[str, Any]) -> list[str]:
    lines = [f"**{title}**: {flag['positives']} of {flag['utterances']} training utterances.\n",
             "| score | AUROC | mean score, flagged | mean score, others |", "|---|---|---|---|"]  # fmt: skip
    for name, area in flag["auroc"].items():
        means = flag["mean_score"][name]
        lines.append(f"| {name} | {_fmt(area)} | {_fmt(means['flagged'], 4)} | {_fmt(means['others'], 4)} |")
    lines += ["", "| decision | mean λ, flagged | mean λ, others |", "|---|---|---|"]
    for name, means in flag["mean_lambda"].items():
        lines.append(f"| {name} | {_fmt(means['flagged'], 4)} | {_fmt(means['others'], 4)} |")
    return [*lines, ""]


def render_diagnostic(result: dict[str, Any]) -> str:
    """Markdown of :func:`diagnose_confidence`'s result."""
    options = result["cache_options"]
    lines = [
        "# Does the teacher's uncertainty flag its disagreements with the labels?\n",
        f"Training split of `{result['corpus']}`, teacher cache `{result['teacher_cache']}` (D read as "
        f"{options.get('dropout_site')}, N = {options.get('n_masks')}, p = {options.get('p')}). No training: the "
        "cached teacher outputs only.\n",
        f"- Teacher error against the training labels the students see: {100 * result['teacher_error_vs_labels']:.2f} "
        f"% (paper 000's teacher: {100 * result['paper_teacher_train_error']:.2f} % on FSC's training set, 0 % on "
        "its test set).",
    ]
    if "relabelled" in result:
        lines += [f"- Against the clean labels: {100 * result['teacher_error_vs_clean_labels']:.2f} %. "
                  f"{result['relabelled_utterances']} training utterances carry a wrong label (label noise); "
                  f"{result['disagreeing_that_are_relabelled']} of the "
                  f"{result['disagreeing']['positives']} disagreements are among them."]  # fmt: skip
    lines += ["",
              "AUROC: how well the score ranks flagged utterances above the others (0.5: not at all; below 0.5: the "
              "wrong way round). λ: the decision's weight alone, recip(D) (7c) or recip(H_C) (7b); a schedule "
              "multiplies both groups alike. The premise of 7c holds when D's AUROC is well above 0.5 and recip(D) "
              "gives flagged utterances clearly less weight.\n"]  # fmt: skip
    lines += render_flagging("Flagged: the teacher's prediction differs from the label", result["disagreeing"])
    if "relabelled" in result:
        lines += render_flagging("Flagged: the label is wrong (relabelled by label noise)", result["relabelled"])
    return "\n".join(lines)


def write_diagnostic(result: dict[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write the result as ``confidence_diagnostic.json`` and ``.md`` under ``out_dir`` (atomically)."""
    out = Path(out_dir)
    atomic_write_text(out / JSON_FILE, json.dumps(result, indent=2) + "\n")
    atomic_write_text(out / MARKDOWN_FILE, render_diagnostic(result) + "\n")
    return out / JSON_FILE, out / MARKDOWN_FILE
