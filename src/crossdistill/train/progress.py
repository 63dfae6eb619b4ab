"""Progress of a Lightning run: a bar on a terminal, one line per epoch in a log (see crossdistill.common.progress)."""

from __future__ import annotations

import sys
import time

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback, TQDMProgressBar

from crossdistill.common.progress import show_progress


class EpochLine(Callback):
    """Prints ``epoch 3/20 (12.3 s): train/loss 0.481, valid/error 0.050, ...`` to stderr after each epoch."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self._started = time.perf_counter()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        metrics = trainer.callback_metrics
        values = ", ".join(f"{key} {float(metrics[key]):.4g}" for key in self.keys if key in metrics)
        seconds = time.perf_counter() - self._started
        print(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs} ({seconds:.1f} s): {values}", file=sys.stderr,
              flush=True)  # fmt: skip


def progress_callbacks(requested: bool, keys: tuple[str, ...]) -> tuple[bool, list[Callback]]:
    """``(enable_progress_bar, callbacks)`` for a Trainer: a bar on a terminal, epoch lines otherwise, nothing
    when not ``requested``."""
    if not requested:
        return False, []
    if show_progress(requested):
        return True, [TQDMProgressBar(leave=False)]
    return False, [EpochLine(keys)]
