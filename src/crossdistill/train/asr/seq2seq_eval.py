"""Scoring a seq2seq model: transcription by beam search, WER, and calibration of the supervised head.

- **WER** (``jiwer``): substitutions, deletions and insertions over the reference words of a split.
- **Calibration** (paper 001's fourth claim: label interpolation raises the calibration error of the second and third
  best classes): teacher-forced on the reference transcripts, at every target position of every utterance, the k-th
  most probable subword of the supervised head has confidence p_(k); it is right when it is the reference token.
  ECE_k is the expected calibration error of those (confidence, right) pairs (Guo et al. 2017: 15 equal-width
  confidence bins, sum over bins of |bin share| * |accuracy - mean confidence|), through torchmetrics'
  ``binary_calibration_error``; k = 1, 2, 3.

Decoding reads the supervised head only: the KD head of paper 001 eq. 4 serves training alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
import torch
from torch import Tensor
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from crossdistill.data.asr.features import PackedFeatures
from crossdistill.data.asr.units.subwords import SubwordModel
from crossdistill.students.asr.seq2seq.model import SUPERVISED_HEAD, Seq2SeqASR
from crossdistill.students.asr.seq2seq.search import beam_search

CALIBRATION_RANKS = (1, 2, 3)
CALIBRATION_BINS = 15
FRAME_SHIFT_S = 0.01


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> dict:
    """WER over a split and its parts (jiwer), counts summed over utterances."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    measures = jiwer.process_words(list(references), list(hypotheses))
    reference_words = measures.hits + measures.substitutions + measures.deletions
    return {
        "wer": float(measures.wer),
        "substitutions": measures.substitutions,
        "deletions": measures.deletions,
        "insertions": measures.insertions,
        "hits": measures.hits,
        "reference_words": reference_words,
        "utterances": len(references),
    }


def utterance_errors(reference: str, hypothesis: str) -> int:
    """Word errors (S + D + I) of one utterance."""
    measures = jiwer.process_words(reference, hypothesis)
    return measures.substitutions + measures.deletions + measures.insertions


@dataclass(frozen=True)
class Transcription:
    """Decoded utterances: ``hypotheses`` utt_id -> words joined by spaces; ``seconds`` of decoding and of audio."""

    hypotheses: dict[str, str]
    decode_seconds: float
    audio_seconds: float

    @property
    def real_time_factor(self) -> float:
        return self.decode_seconds / max(self.audio_seconds, 1e-9)


def transcribe(
    model: Seq2SeqASR,
    features: PackedFeatures,
    utt_ids: Sequence[str],
    subwords: SubwordModel,
    beam: int,
    length_penalty: float,
    max_tokens: int,
    batch_size: int,
    progress: bool = False,
    ctc_weight: float = 0.0,
) -> Transcription:
    """Beam-search every utterance, in batches of similar length."""
    frames = {
        u: int(features.offsets[features.index_of(u) + 1] - features.offsets[features.index_of(u)]) for u in utt_ids
    }
    order = sorted(utt_ids, key=lambda u: (frames[u], u))
    banned = non_output_ids(subwords, model.config.eos_id)
    hypotheses: dict[str, str] = {}
    started = time.perf_counter()
    bar = tqdm(total=len(order), desc=f"beam {beam}", unit="utt", disable=None if progress else True, leave=False)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        padded = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(features.get(u)) for u in chunk], batch_first=True)
        lengths = torch.tensor([frames[u] for u in chunk], dtype=torch.long)
        found = beam_search(model, padded, lengths, beam, length_penalty, max_tokens, banned, ctc_weight)
        for utt_id, best in zip(chunk, found, strict=True):
            hypotheses[utt_id] = " ".join(subwords.processor.decode(list(best.tokens)).split())
        bar.update(len(chunk))
    bar.close()
    audio = sum(frames.values()) * FRAME_SHIFT_S  # frames of (n + 80) // 160 samples: within 10 ms of the audio
    return Transcription(hypotheses, time.perf_counter() - started, audio)


def non_output_ids(subwords: SubwordModel, eos_id: int) -> list[int]:
    """Ids no transcript is made of: sentencepiece's unknown and control pieces (``<unk>``, ``<s>``, ``<sil>``),
    except ``</s>``, which ends every hypothesis."""
    processor = subwords.processor
    return [
        i
        for i in range(processor.get_piece_size())
        if i != eos_id and (processor.is_control(i) or processor.is_unknown(i))
    ]


def ranked_calibration_error(
    top_probs: Tensor,
    top_ids: Tensor,
    targets: Tensor,
    ranks: Sequence[int] = CALIBRATION_RANKS,
    bins: int = CALIBRATION_BINS,
) -> dict[str, float]:
    """ECE_k for each k in ``ranks``: ``top_probs`` and ``top_ids`` (N, K >= max(ranks)) are each position's K most
    probable classes in decreasing order (``probs.topk(K)``), ``targets`` (N,) the right classes."""
    from torchmetrics.functional.classification import binary_calibration_error

    if top_probs.shape != top_ids.shape or top_probs.dim() != 2 or targets.shape != top_probs.shape[:1]:
        raise ValueError(
            f"top_probs and top_ids must be (N, K), targets (N,); got {tuple(top_probs.shape)}, "
            f"{tuple(top_ids.shape)}, {tuple(targets.shape)}"
        )
    if top_probs.shape[1] < max(ranks):
        raise ValueError(f"ECE of rank {max(ranks)} needs the top {max(ranks)} classes, got {top_probs.shape[1]}")
    return {
        f"top{k}": float(
            binary_calibration_error(
                top_probs[:, k - 1].contiguous(), (top_ids[:, k - 1] == targets).long(), n_bins=bins, norm="l1"
            )
        )
        for k in ranks
    }


@torch.no_grad()
def teacher_forced_scores(model: Seq2SeqASR, loader: DataLoader) -> dict:
    """Token accuracy, cross-entropy and ECE of the top-1/2/3 classes of the supervised head over a split."""
    was_training = model.training
    model.eval()
    kept_probs, kept_targets = [], []
    loss, tokens = 0.0, 0
    try:
        for batch in loader:
            mask = batch["token_mask"]
            logits = model(batch["features"], batch["lengths"], batch["inputs"], mask)[SUPERVISED_HEAD][mask].float()
            targets = batch["targets"][mask]
            loss += float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))
            tokens += int(targets.numel())
            # Keep only the ranks calibration reads: (N, 3) instead of (N, V).
            top_probs, top_ids = logits.softmax(dim=-1).topk(max(CALIBRATION_RANKS), dim=-1)
            kept_probs.append((top_probs, top_ids))
            kept_targets.append(targets)
    finally:
        model.train(was_training)
    top_probs = torch.cat([p for p, _ in kept_probs])
    top_ids = torch.cat([i for _, i in kept_probs])
    targets = torch.cat(kept_targets)
    ece = ranked_calibration_error(top_probs, top_ids, targets)
    return {
        "token_accuracy": int((top_ids[:, 0] == targets).sum()) / max(tokens, 1),
        "ce": loss / max(tokens, 1),
        "tokens": tokens,
        "ece": ece,
    }
