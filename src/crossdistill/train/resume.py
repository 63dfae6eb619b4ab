"""Exact resume for Lightning runs: a run killed at any moment and started again ends as an uninterrupted run.

Why epoch boundaries. Lightning restores a mid-epoch checkpoint only approximately (it warns that results may be
unreliable: the data loader's position and random state are not part of it). So the resume checkpoint
(``checkpoints/last.ckpt``) is written at the end of every epoch, and it carries every random state the next epoch
will draw from (torch, CUDA, numpy, Python, and the training loader's shuffling generator). A resumed run restores
them, so the epoch it was killed in is repeated from its start exactly as the killed run began it.

Logs follow the checkpoint: :class:`ResumableCSVLogger` keeps ``metrics.csv`` across restarts and drops the rows of
the epoch that was interrupted (it is trained again), and the TensorBoard writer purges events from the resumed
step on (``purge_step``), so each log holds every epoch once, as an uninterrupted run's does.
"""

from __future__ import annotations

import csv
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Checkpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.utilities.rank_zero import rank_zero_only

from crossdistill.common import atomic_write_text
from crossdistill.common.random_state import capture_random_state, restore_random_state

LAST_CHECKPOINT = "last.ckpt"


class EpochEndCheckpoint(Checkpoint):
    """Writes ``dirpath/last.ckpt`` (atomically) at the end of every epoch, with the random state.

    It is a :class:`Checkpoint` so that Lightning calls it after the module's ``on_train_epoch_end`` (the module's
    epoch record is part of the checkpoint), as it does for ``ModelCheckpoint``; resuming from the end of an epoch is
    the case Lightning restores exactly. Where the state is restored: Lightning creates a resumed run's first training
    iterator (which draws a seed from the random state) before any epoch hook runs, so the state is restored as soon
    as Lightning hands it over (:meth:`load_state_dict`, before the loaders exist); from the capture to the next draw
    neither run draws anything else. A data module that shuffles with its own generator saves it in its
    ``state_dict`` (see ``IntentDataModule``); samplers seeded by (seed, epoch) need nothing.
    """

    def __init__(self, dirpath: str | os.PathLike) -> None:
        self.path = Path(dirpath) / LAST_CHECKPOINT
        self._capture: dict[str, Any] | None = None
        self._started = time.time()
        # Wall seconds of the run's earlier processes, up to the checkpoint this one resumed from (0 for a fresh run):
        # a run's reported time then counts the work its result is made of, whatever process did it.
        self.earlier_seconds = 0.0

    def state_dict(self) -> dict[str, Any]:
        # Called while any checkpoint is written; only this callback's own checkpoint's state is ever restored.
        state: dict[str, Any] = {"seconds": self.earlier_seconds + time.time() - self._started}
        if self._capture is not None:
            state["random"] = self._capture
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "random" in state_dict:
            restore_random_state(state_dict["random"])
        self.earlier_seconds = float(state_dict.get("seconds", 0.0))  # absent in checkpoints made before it was kept

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # The previous epoch's averages are logged after its checkpoint: put them on disk before more work.
        for logger in trainer.loggers:
            logger.save()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)

    def _save(self, trainer: pl.Trainer) -> None:
        for logger in trainer.loggers:
            logger.save()  # every earlier epoch's rows are on disk before the checkpoint says they are done
        self._capture = capture_random_state()
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            trainer.save_checkpoint(tmp, weights_only=False)
        finally:
            self._capture = None
        if trainer.is_global_zero:
            os.replace(tmp, self.path)
        trainer.strategy.barrier("last-checkpoint")


def earlier_seconds(trainer: pl.Trainer) -> float:
    """Wall seconds that a resumed run's earlier processes spent up to its resume checkpoint (0 for a fresh run)."""
    return next((c.earlier_seconds for c in trainer.callbacks if isinstance(c, EpochEndCheckpoint)), 0.0)


@dataclass(frozen=True)
class ResumePoint:
    """Where a run continues: the path of its resume checkpoint and the epoch and global step it starts from."""

    checkpoint: Path
    epoch: int  # epochs done, i.e. the epoch (counted from 0) that the resumed run trains first
    global_step: int


def find_resume_point(checkpoints: str | os.PathLike) -> ResumePoint | None:
    """The resume point in a run's checkpoint folder, or None for a fresh run."""
    path = Path(checkpoints) / LAST_CHECKPOINT
    if not path.is_file():
        return None
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    # Saved at the end of the epoch numbered checkpoint["epoch"] (from 0).
    return ResumePoint(path, int(checkpoint["epoch"]) + 1, int(checkpoint["global_step"]))


class _AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer, but it keeps ``metrics.csv`` from earlier runs up to the resumed epoch.

    ``keep_epochs_before`` None (a fresh run) starts a new file; otherwise rows of epochs before it are kept and
    later ones (an interrupted epoch, trained again now) are dropped.
    """

    def __init__(self, log_dir: str, keep_epochs_before: int | None) -> None:
        self.keep_epochs_before = keep_epochs_before
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if not path.is_file():
            return
        if self.keep_epochs_before is None:
            path.unlink()
            return
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = [row for row in reader if not row.get("epoch") or float(row["epoch"]) < self.keep_epochs_before]
        self.metrics_keys = sorted(header)
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=self.metrics_keys)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(path, text.getvalue())


class ResumableCSVLogger(CSVLogger):
    """``CSVLogger`` whose ``metrics.csv`` survives a resume (see :class:`_AppendingWriter`)."""

    def __init__(self, *args: Any, resume: ResumePoint | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keep_epochs_before = resume.epoch if resume is not None else None

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None and getattr(rank_zero_only, "rank", 0) == 0:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(self.log_dir, self._keep_epochs_before)
        return super().experiment


def run_loggers(root: str | os.PathLike, csv_name: str, resume: ResumePoint | None) -> list:
    """The CSV (``root/csv_name/metrics.csv``) and TensorBoard (``root/tensorboard``) loggers of a run, both
    continuing, not replacing, the logs of the run it resumes."""
    purge = {"purge_step": resume.global_step} if resume is not None else {}
    return [
        ResumableCSVLogger(root, name=csv_name, version="", resume=resume),
        TensorBoardLogger(root, name="tensorboard", version="", **purge),
    ]


def changed_settings(previous: dict[str, Any], current: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two nested settings mappings (sorted)."""
    changed = []
    for key in sorted(set(previous) | set(current), key=str):
        old, new = previous.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changed += changed_settings(old, new, f"{prefix}{key}.")
        elif old != new:
            changed.append(f"{prefix}{key}")
    return changed


def refuse_other_settings(out: Path, what: str, previous: dict[str, Any], current: dict[str, Any]) -> None:
    """Raise if ``out`` holds a run whose settings differ from this one's (it would resume or skip the wrong run)."""
    changed = changed_settings(previous, current)
    if changed:
        raise ValueError(
            f"{out} holds a {what} with other settings ({', '.join(changed)} differ); "
            "use a new output folder, or the same settings to resume it"
        )
