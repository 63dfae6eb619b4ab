"""Running a trained LM teacher-forced over unit sentences: next-unit distributions and perplexity.

Sentences are batched in length order (less padding) and the results handed back in the caller's order. For a
sentence ``u_1 .. u_n`` the LM reads ``<s> u_1 .. u_n`` and row k (k = 0..n) of its output is the distribution
of the unit after ``<s> u_1 .. u_k``: row k - 1 is p(u_k | u_<k) and row n is p(</s> | u_1 .. u_n).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from crossdistill.teachers.lm.model import LSTMLanguageModel
from crossdistill.teachers.lm.text import UnitSentences, make_lm_batch

MAX_BATCH_UNITS = 2**14  # positions per scoring batch: its (positions, V + 1) log-probabilities stay tens of MB


def length_sorted_batches(lengths: np.ndarray, batch_size: int, max_units: int = MAX_BATCH_UNITS) -> list[list[int]]:
    """Sentence indices in batches of similar length: at most ``batch_size`` sentences and, padding counted, at
    most ``max_units`` positions (a sentence longer than that is a batch of its own)."""
    batches: list[list[int]] = []
    for i in np.argsort(lengths, kind="stable").tolist():
        # Sorted ascending, so the sentence being added is the longest of its batch: it sets the padded width.
        if batches and len(batches[-1]) < batch_size and (len(batches[-1]) + 1) * (lengths[i] + 1) <= max_units:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


@torch.no_grad()
def iterate_log_probs(
    model: LSTMLanguageModel, sentences: UnitSentences, batch_size: int = 64, max_batch_units: int = MAX_BATCH_UNITS
) -> Iterator[tuple[int, Tensor]]:
    """Yield ``(sentence index, log-probabilities (n + 1, V + 1))`` for every sentence, in length-sorted batches."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    was_training = model.training
    model.eval()
    boundary = model.vocabulary.boundary
    try:
        for rows in length_sorted_batches(sentences.lengths(), batch_size, max_batch_units):
            batch = make_lm_batch([torch.from_numpy(sentences[i].astype(np.int64)) for i in rows], boundary)
            log_probs = torch.log_softmax(model(batch["inputs"]).float(), dim=-1)
            for b, i in enumerate(rows):
                yield i, log_probs[b, : int(batch["lengths"][b])]
    finally:
        model.train(was_training)


def total_log_likelihood(model: LSTMLanguageModel, sentences: UnitSentences, batch_size: int = 64) -> float:
    """Sum over sentences of log p(u_1 .. u_n </s>) in nats."""
    total = 0.0
    boundary = model.vocabulary.boundary
    for i, log_probs in iterate_log_probs(model, sentences, batch_size):
        targets = torch.from_numpy(np.append(sentences[i], boundary).astype(np.int64))
        total += float(log_probs.double().gather(1, targets[:, None]).sum())
    return total


def perplexity(model: LSTMLanguageModel, sentences: UnitSentences, batch_size: int = 64) -> float:
    """exp(-log-likelihood / predictions), every unit and every ``</s>`` counted as one prediction."""
    return math.exp(-total_log_likelihood(model, sentences, batch_size) / sentences.num_predictions)


def unigram_perplexity(train: UnitSentences, evaluate: UnitSentences, vocab_size: int) -> float:
    """Perplexity of an add-one smoothed unigram model of ``train`` on ``evaluate`` (the baseline an LM must beat).

    The unigram's outcomes are the ``vocab_size`` units plus ``</s>`` (once per sentence), as for the LM.
    """
    counts = np.bincount(train.ids, minlength=vocab_size).astype(np.float64)
    if len(counts) != vocab_size:
        raise ValueError(f"training ids exceed the vocabulary of {vocab_size}")
    counts = np.append(counts, len(train)) + 1.0  # </s> once per sentence; add-one smoothing
    log_p = np.log(counts / counts.sum())
    eval_counts = np.append(np.bincount(evaluate.ids, minlength=vocab_size), len(evaluate))
    return float(math.exp(-(eval_counts * log_p).sum() / evaluate.num_predictions))
