"""The Lightning module that trains the intent module with the supervised loss plus distillation terms."""

from __future__ import annotations

import math

import lightning.pytorch as pl
import torch
from torch import Tensor

from crossdistill.kd import LabelInterpolationObjective, StepContext, supervised_cross_entropy
from crossdistill.students.asr.specaugment import BatchSpecAugment
from crossdistill.students.intent import utterance_correct
from crossdistill.train.intent_data import batch_targets, teacher_tensors
from crossdistill.train.specaugment import augment_batch

EVAL_SPLITS = ("valid", "test")  # the order of the validation loaders


class IntentDistillationModule(pl.LightningModule):
    """Student + objective. Logs per epoch: train loss parts, valid and test error, and lambda's mean and spread.

    ``history`` keeps one record per finished epoch (also saved in checkpoints, so it survives a resume); the
    run reads the chosen epoch from it.
    """

    def __init__(
        self,
        student,
        objective,
        supervised: str = "intent",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        optimizer: str = "adam",
        augment: BatchSpecAugment | None = None,
    ):
        super().__init__()
        self.optimizer_name = optimizer
        self.student = student
        self.objective = objective
        self.supervised = supervised
        self.lr = lr
        self.weight_decay = weight_decay
        self.augment = augment  # SpecAugment on training batches (crossdistill.train.specaugment), or None
        self.history: list[dict] = []
        self._lambda_sums: dict[str, Tensor] = {}
        self._record: dict = {}

    # --- steps ----------------------------------------------------------------------------------------

    def forward(self, batch: dict) -> dict[str, Tensor]:
        return self.student(batch)

    def _step_outputs(self, batch: dict):
        outputs = self(batch)
        targets = batch_targets(batch, self.supervised)
        per_sample = sum(supervised_cross_entropy(outputs[head], target) for head, target in targets.items())
        return outputs, targets, per_sample, utterance_correct(outputs, targets)

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        outputs, targets, supervised, correct = self._step_outputs(augment_batch(batch, self.augment))
        context = StepContext(epoch=self.current_epoch + 1, max_epoch=self.trainer.max_epochs, student_correct=correct)
        if isinstance(self.objective, LabelInterpolationObjective):
            target = targets[self.objective.student_head]
            parts = self.objective.compute_loss(target, outputs, teacher_tensors(batch), context)
        else:
            parts = self.objective.compute_loss(supervised, outputs, teacher_tensors(batch), context)
        size = len(batch["utt_id"])
        self.log("train/loss", parts.total, batch_size=size, on_step=True, on_epoch=True, prog_bar=True)
        self.log("train/supervised", parts.supervised, batch_size=size, on_step=False, on_epoch=True)
        self.log("train/error", 1 - correct.float().mean(), batch_size=size, on_step=False, on_epoch=True)
        for label, value in parts.kd.items():
            self.log(f"train/kd/{label}", value, batch_size=size, on_step=False, on_epoch=True)
        for label, lam in parts.lambdas.items():
            lam = lam.double()  # float32 sums of squares would leave a spurious spread of ~1e-4
            stats = torch.stack([lam.sum(), lam.pow(2).sum(), lam.new_tensor(lam.numel())])
            self._lambda_sums[label] = self._lambda_sums.get(label, torch.zeros_like(stats)) + stats
        return parts.total

    def on_train_epoch_start(self) -> None:
        self._lambda_sums = {}
        self._record = {"epoch": self.current_epoch + 1}

    def on_train_epoch_end(self) -> None:
        # Lightning runs the epoch's validation before this hook, so the record already holds valid/test.
        record = self._record
        for label, sums in sorted(self._lambda_sums.items()):
            total = self.trainer.strategy.reduce(sums.to(self.device), reduce_op="sum")
            mean = float(total[0] / total[2])
            std = math.sqrt(max(0.0, float(total[1] / total[2]) - mean**2))
            self.log(f"lambda/{label}/mean", mean, sync_dist=False)
            self.log(f"lambda/{label}/std", std, sync_dist=False)
            record[f"lambda/{label}/mean"] = mean
            record[f"lambda/{label}/std"] = std
        for key in ("train/loss_epoch", "train/supervised", "train/error"):
            if key in self.trainer.callback_metrics:
                record[key.replace("_epoch", "")] = float(self.trainer.callback_metrics[key])
        self.history.append(record)

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        split = EVAL_SPLITS[dataloader_idx]
        _, _, supervised, correct = self._step_outputs(batch)
        size = len(batch["utt_id"])
        self.log(f"{split}/error", 1 - correct.float().mean(), batch_size=size, add_dataloader_idx=False,
                 sync_dist=False, prog_bar=split == "valid")  # fmt: skip
        # Every process evaluates the full split (see IntentDataModule), so no cross-process sync is needed.
        self.log(f"{split}/loss", supervised.mean(), batch_size=size, add_dataloader_idx=False)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        record = self._record
        for split in EVAL_SPLITS:
            for metric in ("error", "loss"):
                value = self.trainer.callback_metrics.get(f"{split}/{metric}")
                if value is not None:
                    record[f"{split}/{metric}"] = float(value)

    # --- optimisation and persistence ------------------------------------------------------------------

    def configure_optimizers(self):
        params = [p for p in self.student.parameters() if p.requires_grad]
        if self.optimizer_name == "sgd":
            return torch.optim.SGD(params, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["crossdistill_history"] = self.history

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.history = list(checkpoint.get("crossdistill_history", []))
