"""The Lightning module of the seq2seq model: the three objectives of paper 001's Fig. 3 through the kd core.

With z the supervised head's logits, a the KD head's, y the reference subwords and p_LM the LM's next-token
distribution at every target position (teacher-forced on the reference transcript, cached per transcript):

- ``supervised``: CE(y, softmax(z)), ``kd.supervised_cross_entropy``;
- ``lst`` (paper 001 eq. 3, Bai et al.'s "learn spelling from teachers"): CE(t, softmax(z)) with the interpolated
  target t = (1 - lambda) * one_hot(y) + lambda * softmax(log p_LM / T), ``kd.LabelInterpolationObjective`` (T = 5 by
  default, as in the paper's sweep). softmax(log p / T) equals softmax(LM logits / T): a log-probability is the
  logit minus a per-row constant;
- ``multitask`` (paper 001 eq. 4): CE(y, softmax(z)) + lambda * T^2 * KL(softmax(log p_LM / T) || softmax(a / T)),
  a ``kd.DistillationObjective`` with one additive ``kl_probs`` term on the KD head (T = 1 by default). We read
  eq. 4 as additive, the form the hybrid recipe uses for the same equation (its lambda is a weight on the KD term
  only; the text does not print the equation, docs/asr.md says so).

Each loss is the mean over an utterance's target tokens, then over the utterances of the batch (over the global
batch under DDP). With ``ctc_weight`` w > 0 the loss is (1 - w) * objective + w * CTC (ESPnet's joint training);
with ``frame_weight`` f > 0, f * CE(frame labels, frame layer) is added (the mean over an utterance's subsampled
frames, then over utterances; our addition for small corpora, see ``seq2seq_config``).
Randomness (dropout, SpecAugment) is reseeded at every training step from (seed, epoch, step, rank), as the
hybrid recipe does, so a resumed run draws what an uninterrupted one draws.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from crossdistill.kd import (
    DistillationObjective,
    DistillationTerm,
    LabelInterpolationObjective,
    StepContext,
    WeightPolicy,
    supervised_cross_entropy,
)
from crossdistill.students.asr import BatchSpecAugment, SpecAugmentConfig
from crossdistill.students.asr.seq2seq.model import (
    CTC_BLANK,
    CTC_HEAD,
    FRAME_HEAD,
    FRAME_PADDING,
    KD_HEAD,
    SUPERVISED_HEAD,
    Seq2SeqASR,
)
from crossdistill.train.asr.hybrid_module import step_seed
from crossdistill.train.asr.run_folder import LOGGER
from crossdistill.train.asr.seq2seq_config import ObjectiveConfig

TEACHER_OUTPUT = "lm"
# One JSON line per finished epoch, in the run's train.log (the recipe attaches the file to this logger).
epoch_log = logging.getLogger(LOGGER)


def build_objective(objective: ObjectiveConfig) -> DistillationObjective | LabelInterpolationObjective:
    """The kd-core objective of ``objective`` (see the module docstring)."""
    temperature = objective.resolved_temperature()
    if objective.name == "lst":
        return LabelInterpolationObjective(
            teacher_output=TEACHER_OUTPUT, student_head=SUPERVISED_HEAD, alpha=objective.weight, temperature=temperature
        )
    if objective.name == "multitask":
        term = DistillationTerm(
            teacher_output=TEACHER_OUTPUT,
            student_head=KD_HEAD,
            distance="kl_probs",
            policy=WeightPolicy(scale=objective.weight),
            temperature=temperature,
            name="lm",
        )
        return DistillationObjective(terms=[term], combination="additive")
    return DistillationObjective(terms=[])


def probabilities_as_logits(probs: Tensor) -> Tensor:
    """Logits whose softmax at any temperature T is p^(1/T) / Z on p's support and exactly 0 elsewhere: log p, with
    the most negative finite float where p = 0 (top-k rows). ``lst_target`` needs finite logits."""
    return torch.where(probs > 0, probs.clamp_min(torch.finfo(probs.dtype).tiny).log(), torch.finfo(probs.dtype).min)


@dataclass
class StepResult:
    """One batch: loss parts (means over its utterances), sizes, and the supervised head's correct tokens."""

    total: Tensor
    supervised: Tensor
    kd: Tensor | None
    ctc: Tensor | None
    frame: Tensor | None
    utterances: int
    tokens: int
    correct: int
    outputs: dict[str, Tensor] = field(repr=False, default_factory=dict)


def compute_step(
    model: Seq2SeqASR,
    objective: DistillationObjective | LabelInterpolationObjective,
    batch: dict,
    ctc_weight: float = 0.0,
    context: StepContext | None = None,
    frame_weight: float = 0.0,
) -> StepResult:
    """The run's loss on one batch (features as given: augment them before calling for training)."""
    outputs = model(batch["features"], batch["lengths"], batch["inputs"], batch["token_mask"])
    mask, targets = batch["token_mask"], batch["targets"]
    context = context or StepContext(epoch=1, max_epoch=1)
    context = StepContext(context.epoch, context.max_epoch, masks={SUPERVISED_HEAD: mask, KD_HEAD: mask})
    teacher = batch.get("teacher")
    if teacher is not None:  # padded rows become uniform: never read, but every kd-core check sees a distribution
        teacher = torch.where(mask.unsqueeze(-1), teacher, torch.full_like(teacher, 1.0 / teacher.shape[-1]))
    kd = None
    if isinstance(objective, LabelInterpolationObjective):
        parts = objective.compute_loss(targets, outputs, {TEACHER_OUTPUT: probabilities_as_logits(teacher)}, context)
        kd = parts.total.detach()
    else:
        supervised = supervised_cross_entropy(outputs[SUPERVISED_HEAD], targets, mask)
        teachers = {} if teacher is None else {TEACHER_OUTPUT: teacher}
        parts = objective.compute_loss(supervised, outputs, teachers, context)
        kd = parts.kd.get("lm")
    total, ctc = parts.total, None
    if model.ctc is not None and ctc_weight > 0:
        ctc = ctc_loss(outputs[CTC_HEAD], outputs["encoder_mask"], targets, mask)
        total = (1 - ctc_weight) * total + ctc_weight * ctc
    frame = None
    if model.frame is not None and frame_weight > 0:
        frame = frame_loss(outputs[FRAME_HEAD], batch["frame_targets"])
        total = total + frame_weight * frame
    predicted = outputs[SUPERVISED_HEAD].argmax(dim=-1)
    return StepResult(
        total,
        parts.supervised.detach(),
        kd,
        None if ctc is None else ctc.detach(),
        None if frame is None else frame.detach(),
        int(targets.shape[0]),
        int(mask.sum()),
        int(((predicted == targets) & mask).sum()),
        outputs,
    )


def ctc_loss(logits: Tensor, encoder_mask: Tensor, targets: Tensor, token_mask: Tensor) -> Tensor:
    """CTC of the encoder's CTC layer against the subwords (the targets without ``</s>``), per token, batch mean."""
    lengths = token_mask.sum(dim=1) - 1  # drop </s>
    labels = torch.cat([targets[b, : int(n)] for b, n in enumerate(lengths)])
    log_probs = logits.float().log_softmax(dim=-1).transpose(0, 1)  # (T', B, V)
    device = log_probs.device
    if device.type == "cuda" and torch.are_deterministic_algorithms_enabled():
        # CUDA's CTC backward has no deterministic kernel (torch raises under `trainer.deterministic`), so the loss
        # is computed on the CPU and its gradient flows back to the GPU; a seeded run stays reproducible there.
        log_probs, labels, lengths = log_probs.cpu(), labels.cpu(), lengths.cpu()
    per_utterance = F.ctc_loss(
        log_probs, labels, encoder_mask.sum(dim=1).to(log_probs.device), lengths, blank=CTC_BLANK,
        reduction="none", zero_infinity=True,
    )  # fmt: skip
    return (per_utterance / lengths.clamp_min(1)).mean().to(device)


def frame_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """CE of the frame layer against the subsampled frame labels: the mean over an utterance's frames, then over the
    batch (``FRAME_PADDING`` marks frames past an utterance's end)."""
    frames = targets.shape[1]
    per_frame = F.cross_entropy(
        logits[:, :frames].float().transpose(1, 2), targets, ignore_index=FRAME_PADDING, reduction="none"
    )
    real = (targets != FRAME_PADDING).sum(dim=1).clamp_min(1)
    return (per_frame.sum(dim=1) / real).mean()


class EpochTotals:
    """Utterance-weighted loss parts and token accuracy of one pass over a split."""

    def __init__(self) -> None:
        # total, ce, kd, ctc, frame (x utterances), utterances, tokens, correct
        self.values = torch.zeros(8, dtype=torch.float64)

    def add(self, result: StepResult) -> None:
        n = result.utterances
        parts = [
            float(result.total.detach()) * n,
            float(result.supervised) * n,
            0.0 if result.kd is None else float(result.kd) * n,
            0.0 if result.ctc is None else float(result.ctc) * n,
            0.0 if result.frame is None else float(result.frame) * n,
            n,
            result.tokens,
            result.correct,
        ]
        self.values += torch.tensor(parts, dtype=torch.float64)

    def summary(self, values: Tensor | None = None) -> dict[str, Any]:
        v = self.values if values is None else values
        utterances, tokens = max(float(v[5]), 1.0), max(float(v[6]), 1.0)
        return {
            "loss": float(v[0]) / utterances,
            "ce": float(v[1]) / utterances,
            "kd": float(v[2]) / utterances,
            "ctc": float(v[3]) / utterances,
            "frame": float(v[4]) / utterances,
            "token_accuracy": float(v[7]) / tokens,
            "utterances": int(v[5]),
            "tokens": int(v[6]),
        }


def noam_factor(step: int, warmup: int) -> float:
    """ESPnet's transformer schedule relative to the peak: linear warm-up for ``warmup`` steps, then 1/sqrt decay."""
    if warmup == 0:
        return 1.0
    step += 1
    return min(step / warmup, (warmup / step) ** 0.5)


class Seq2SeqTrainingModule(pl.LightningModule):
    """Trains a ``Seq2SeqASR`` on one objective; scores dev (teacher-forced) every epoch for checkpoint selection.

    ``history`` holds one record per finished epoch (saved in checkpoints, so it survives a resume).
    """

    def __init__(
        self,
        model: Seq2SeqASR,
        objective: DistillationObjective | LabelInterpolationObjective,
        specaugment: SpecAugmentConfig,
        ctc_weight: float,
        lr: float,
        warmup_steps: int,
        weight_decay: float,
        seed: int,
        max_epochs: int,
        frame_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.model, self.objective, self.ctc_weight = model, objective, ctc_weight
        self.frame_weight = frame_weight
        self.augment = BatchSpecAugment(specaugment)
        self.lr, self.warmup_steps, self.weight_decay = lr, warmup_steps, weight_decay
        self.seed, self.max_epochs = seed, max_epochs
        self.history: list[dict[str, Any]] = []
        self._train, self._dev = EpochTotals(), EpochTotals()
        self._epoch_started = 0.0

    def _context(self) -> StepContext:
        return StepContext(epoch=self.current_epoch + 1, max_epoch=self.max_epochs)

    def on_train_batch_start(self, batch: dict, batch_idx: int) -> None:
        seed = step_seed(self.seed, self.current_epoch, batch_idx, self.global_rank)
        torch.manual_seed(seed)  # dropout; lhotse's SpecAugment draws from torch, Python and (time warp) NumPy
        random.seed(seed)
        np.random.seed(seed % 2**32)
        if batch_idx == 0:
            self._train = EpochTotals()
            self._epoch_started = time.perf_counter()

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        batch = {**batch, "features": self.augment(batch["features"], batch["lengths"])}
        result = compute_step(self.model, self.objective, batch, self.ctc_weight, self._context(), self.frame_weight)
        self._train.add(result)
        utterances = torch.tensor(float(result.utterances), dtype=torch.float64, device=self.device)
        total = self.trainer.strategy.reduce(utterances, reduce_op="sum")
        # The mean over every utterance of the global batch, after DDP divides the summed gradients by the world size.
        loss = result.total * result.utterances * self.trainer.world_size / total.clamp_min(1).to(result.total)
        self.log("train/loss", result.total.detach(), prog_bar=True, on_step=True, on_epoch=False)
        return loss

    def on_validation_epoch_start(self) -> None:
        self._dev = EpochTotals()

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._dev.add(
            compute_step(self.model, self.objective, batch, self.ctc_weight, self._context(), self.frame_weight)
        )

    def on_validation_epoch_end(self) -> None:
        # Every process scored the whole dev set (Seq2SeqDataModule): the values agree everywhere.
        summary = self._dev.summary()
        self.log("dev/token_accuracy", summary["token_accuracy"], prog_bar=True, sync_dist=False)
        for key in ("loss", "ce", "kd", "ctc", "frame"):
            self.log(f"dev/{key}", summary[key], sync_dist=False)

    def on_train_epoch_end(self) -> None:
        # Lightning has run this epoch's validation already; checkpoints are written after this hook.
        seconds = time.perf_counter() - self._epoch_started
        summed = self.trainer.strategy.reduce(self._train.values.to(self.device), reduce_op="sum").cpu()
        train = self._train.summary(summed)
        train["utterances_per_second"] = train["utterances"] / max(seconds, 1e-9)
        self.history.append({"epoch": self.current_epoch + 1, "train": train, "dev": self._dev.summary()})
        if self.global_rank == 0:
            epoch_log.info("epoch %s", json.dumps(self.history[-1], sort_keys=True))
        for key in ("loss", "ce", "kd", "ctc", "frame", "token_accuracy"):
            self.log(f"train/{key}", train[key], sync_dist=False)

    def configure_optimizers(self) -> dict:
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        warmup = self.warmup_steps
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: noam_factor(step, warmup))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["crossdistill_history"] = self.history

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.history = list(checkpoint.get("crossdistill_history", []))
