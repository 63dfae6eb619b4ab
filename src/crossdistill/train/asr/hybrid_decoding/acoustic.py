"""The trained hybrid AM's frame scores: per-frame senone log posteriors of every utterance of a split.

The model is read with ``crossdistill.train.asr.hybrid.load_trained_hybrid`` (weights, log senone priors from the
training alignments, the units folder it was trained on). Only the senone head runs. Utterances are batched in
order of length, so padding stays small; the AM's outputs of an utterance do not depend on its batch (padding is
masked, ``crossdistill.students.asr.hybrid``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from crossdistill.data.asr.features import PackedFeatures
from crossdistill.students.asr import SENONE_HEAD, HybridAcousticModel


@dataclass
class Timer:
    """Seconds spent, accumulated over calls."""

    seconds: float = 0.0
    _start: float = field(default=0.0, repr=False)

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *_) -> None:
        self.seconds += time.perf_counter() - self._start


def senone_log_posteriors(
    model: HybridAcousticModel,
    features: PackedFeatures,
    utt_ids: Sequence[str],
    batch_size: int = 8,
    timer: Timer | None = None,
    progress: bool = True,
    description: str = "AM",
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(utt_id, (T, K) float32 log posteriors)`` for every utterance of ``utt_ids``, shortest first (the
    batching order; callers keep what they need by id, not the (T, K) arrays themselves); ``timer`` accumulates the
    time spent in the model."""
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    lengths = {utt: int(features.offsets[i + 1] - features.offsets[i]) for utt, i in _positions(features, utt_ids)}
    by_length = sorted(utt_ids, key=lambda utt: (lengths[utt], utt))
    timer = timer or Timer()
    bar = tqdm(total=len(utt_ids), desc=description, unit="utt", disable=None if progress else True, leave=False)
    model.eval()
    for start in range(0, len(by_length), batch_size):
        batch = by_length[start : start + batch_size]
        with timer, torch.inference_mode():
            tensors = [torch.from_numpy(features.get(utt)) for utt in batch]
            padded = torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True)
            frame_counts = torch.tensor([t.shape[0] for t in tensors], dtype=torch.int64)
            hidden, _ = model.encode(padded, frame_counts)
            log_posteriors = torch.log_softmax(model.classify(hidden, [SENONE_HEAD])[SENONE_HEAD].float(), dim=-1)
        bar.update(len(batch))
        for row, utt in enumerate(batch):
            yield utt, log_posteriors[row, : lengths[utt]].numpy()
    bar.close()


def _positions(features: PackedFeatures, utt_ids: Sequence[str]) -> Iterator[tuple[str, int]]:
    for utt in utt_ids:
        yield utt, features.index_of(utt)
