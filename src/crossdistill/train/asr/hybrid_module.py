"""The Lightning module of the hybrid AM: paper 001 eq. 4 through the kd core, frame accuracy on dev and test.

Paper 001 eq. 4 (multi-task distillation, MTL) for a hybrid AM with teacher LMs j (Section 3.2, Table 1)::

    L = CE(senone head, aligned senones) + sum_j lambda_j * tau_j^2 * KL(softmax(z_j / tau_j) || softmax(a_j / tau_j))

over every real frame of the batch, where z_j are LM j's frame-wise logits (cached as probabilities p_j:
softmax(z_j / tau) = p_j^(1/tau) / Z) and a_j is the auxiliary head over LM j's units. It is built as a
``crossdistill.kd.DistillationObjective`` with the ``additive`` combination and one ``kl_probs`` term per LM
(``build_eq4_objective``); the supervised loss is ``kd.supervised_cross_entropy``. Paper 001 eq. 3 (LST, label
interpolation) is ``kd.LabelInterpolationObjective``; it needs teacher and student to share units and is not used
by the hybrid recipe.

Every frame counts once: the heads run on the real frames of the batch flattened to (N, d_model), the kd core
sees each frame as one sample, and the loss is the mean over all N frames (over the global batch under DDP: each
process's sum is divided by the global frame count, times the world size that DDP's gradient averaging divides
by). Randomness (dropout, SpecAugment) is reseeded at every training step from (seed, epoch, step, rank), so a
step's result depends on nothing a killed run could lose.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch import Tensor

from crossdistill.kd import DistillationObjective, DistillationTerm, StepContext, WeightPolicy
from crossdistill.kd.objectives import supervised_cross_entropy
from crossdistill.students.asr import SENONE_HEAD, BatchSpecAugment, HybridAcousticModel, SpecAugmentConfig, aux_head
from crossdistill.train.asr.hybrid_data import teacher_distributions

log = logging.getLogger(__name__)

EVAL_ROLES = ("dev", "test")  # the validation loaders, in order
TEACHER_OUTPUT_PREFIX = "lm/"


def build_eq4_objective(teachers: dict[str, tuple[float, float]]) -> DistillationObjective:
    """Paper 001 eq. 4 from ``{unit: (lambda, tau)}``: CE + sum_j lambda_j * tau_j^2 * KL(teacher_j || aux_j)."""
    terms = [
        DistillationTerm(
            teacher_output=TEACHER_OUTPUT_PREFIX + unit,
            student_head=aux_head(unit),
            distance="kl_probs",
            policy=WeightPolicy(scale=weight),
            temperature=temperature,
            name=unit,
        )
        for unit, (weight, temperature) in teachers.items()
    ]
    return DistillationObjective(terms=terms, combination="additive")


def step_seed(seed: int, epoch: int, step: int, rank: int) -> int:
    """The seed of one training step on one process: a function of the run's seed and the step's position only."""
    return int(np.random.SeedSequence([seed, epoch, step, rank]).generate_state(1)[0])


@dataclass
class StepResult:
    """One batch: the loss breakdown (means over its N frames), N, and how many frames the senone head got right."""

    total: Tensor
    supervised: Tensor
    kd: dict[str, Tensor]
    frames: int
    correct: int


def compute_step(model: HybridAcousticModel, objective: DistillationObjective, batch: dict, vocab: dict[str, int],
                 context: StepContext) -> StepResult:  # fmt: skip
    """Paper 001 eq. 4 on one batch (features as given: augment them before calling for training)."""
    hidden, mask = model.encode(batch["features"], batch["lengths"])
    outputs = model.classify(hidden[mask])  # (N, C) per head, frames in the order of batch["senone"]
    supervised = supervised_cross_entropy(outputs[SENONE_HEAD], batch["senone"])
    teachers = {TEACHER_OUTPUT_PREFIX + unit: rows for unit, rows in teacher_distributions(batch, vocab).items()}
    breakdown = objective.compute_loss(supervised, outputs, teachers, context)
    correct = int((outputs[SENONE_HEAD].argmax(dim=-1) == batch["senone"]).sum())
    return StepResult(breakdown.total, breakdown.supervised, breakdown.kd, int(supervised.shape[0]), correct)


class SplitTotals:
    """Frame-weighted sums of the loss terms and the correct frames of one pass over a split."""

    def __init__(self, units: list[str]) -> None:
        self.units = units
        self.values = torch.zeros(4 + len(units), dtype=torch.float64)  # total, ce, frames, correct, kd...

    def add(self, result: StepResult) -> None:
        n = result.frames
        parts = [float(result.total.detach()) * n, float(result.supervised.detach()) * n, n, result.correct]
        parts += [float(result.kd[unit]) * n for unit in self.units]
        self.values += torch.tensor(parts, dtype=torch.float64)

    def summary(self, values: Tensor | None = None) -> dict[str, Any]:
        v = self.values if values is None else values
        frames = max(float(v[2]), 1.0)
        return {
            "loss": float(v[0]) / frames,
            "ce_senone": float(v[1]) / frames,
            "kd": {unit: float(v[4 + i]) / frames for i, unit in enumerate(self.units)},
            "frame_accuracy": float(v[3]) / frames,
            "frames": int(v[2]),
        }


class HybridTrainingModule(pl.LightningModule):
    """Trains a ``HybridAcousticModel`` on paper 001 eq. 4; validates on dev and test every epoch.

    teacher_vocab: distilled unit -> vocabulary size (the full width of its auxiliary head).
    ``history`` holds one record per finished epoch (saved in checkpoints, so it survives a resume).
    """

    def __init__(self, model: HybridAcousticModel, objective: DistillationObjective, teacher_vocab: dict[str, int],
                 specaugment: SpecAugmentConfig, lr: float, warmup_steps: int, weight_decay: float, seed: int,
                 max_epochs: int) -> None:  # fmt: skip
        super().__init__()
        self.model, self.objective, self.teacher_vocab = model, objective, dict(teacher_vocab)
        self.augment = BatchSpecAugment(specaugment)
        self.lr, self.warmup_steps, self.weight_decay = lr, warmup_steps, weight_decay
        self.seed, self.max_epochs = seed, max_epochs
        self.units = list(teacher_vocab)
        self.history: list[dict[str, Any]] = []
        self._train = SplitTotals(self.units)
        self._eval = {role: SplitTotals(self.units) for role in EVAL_ROLES}
        self._epoch_started = 0.0

    def _context(self) -> StepContext:
        return StepContext(epoch=self.current_epoch + 1, max_epoch=self.max_epochs)

    def on_train_batch_start(self, batch: dict, batch_idx: int) -> None:
        seed = step_seed(self.seed, self.current_epoch, batch_idx, self.global_rank)
        torch.manual_seed(seed)  # dropout and lhotse's SpecAugment (torch and Python RNGs)
        random.seed(seed)
        if batch_idx == 0:
            self._train = SplitTotals(self.units)
            self._epoch_started = time.perf_counter()

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        batch = {**batch, "features": self.augment(batch["features"], batch["lengths"])}
        result = compute_step(self.model, self.objective, batch, self.teacher_vocab, self._context())
        self._train.add(result)
        frames = torch.tensor(float(result.frames), dtype=torch.float64, device=self.device)
        global_frames = self.trainer.strategy.reduce(frames, reduce_op="sum")
        # The mean over every frame of the global batch, after DDP divides the summed gradients by the world size.
        loss = result.total * result.frames * self.trainer.world_size / global_frames.clamp_min(1).to(result.total)
        self.log("train/loss", result.total.detach(), prog_bar=True, on_step=True, on_epoch=False)
        return loss

    def on_validation_epoch_start(self) -> None:
        self._eval = {role: SplitTotals(self.units) for role in EVAL_ROLES}

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        result = compute_step(self.model, self.objective, batch, self.teacher_vocab, self._context())
        self._eval[EVAL_ROLES[dataloader_idx]].add(result)

    def on_validation_epoch_end(self) -> None:
        # Every process evaluated the whole dev and test sets (HybridDataModule): the values agree everywhere.
        for role, totals in self._eval.items():
            summary = totals.summary()
            self.log(f"{role}/frame_accuracy", summary["frame_accuracy"], prog_bar=role == "dev", sync_dist=False)
            self.log(f"{role}/ce_senone", summary["ce_senone"], sync_dist=False)
            self.log(f"{role}/loss", summary["loss"], sync_dist=False)
            for unit, value in summary["kd"].items():
                self.log(f"{role}/kd_{unit}", value, sync_dist=False)

    def on_train_epoch_end(self) -> None:
        # Lightning has run this epoch's validation already; checkpoints are written after this hook.
        seconds = time.perf_counter() - self._epoch_started
        summed = self.trainer.strategy.reduce(self._train.values.to(self.device), reduce_op="sum").cpu()
        train = self._train.summary(summed)
        train["frames_per_second"] = train["frames"] / max(seconds, 1e-9)
        record = {"epoch": self.current_epoch + 1, "train": train}
        record |= {role: totals.summary() for role, totals in self._eval.items()}
        self.history.append(record)
        if self.global_rank == 0:
            log.info("epoch %s", json.dumps(record, sort_keys=True))
        self.log("train/epoch_loss", train["loss"], sync_dist=False)
        self.log("train/ce_senone", train["ce_senone"], sync_dist=False)
        self.log("train/frame_accuracy", train["frame_accuracy"], sync_dist=False)
        for unit, value in train["kd"].items():
            self.log(f"train/kd_{unit}", value, sync_dist=False)

    def configure_optimizers(self) -> dict:
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        warmup = self.warmup_steps

        def factor(step: int) -> float:
            return 1.0 if warmup == 0 else min(1.0, (step + 1) / warmup)

        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["crossdistill_history"] = self.history

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.history = list(checkpoint.get("crossdistill_history", []))


@torch.no_grad()
def evaluate(model: HybridAcousticModel, objective: DistillationObjective, loader, teacher_vocab: dict[str, int],
             context: StepContext | None = None) -> dict[str, Any]:  # fmt: skip
    """Loss terms and senone frame accuracy of ``model`` (eval mode) over every batch of ``loader``."""
    was_training = model.training
    model.eval()
    totals = SplitTotals(list(teacher_vocab))
    for batch in loader:
        totals.add(compute_step(model, objective, batch, teacher_vocab, context or StepContext(epoch=1, max_epoch=1)))
    model.train(was_training)
    return totals.summary()
