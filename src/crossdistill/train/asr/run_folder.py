"""The run folder every ASR recipe shares: identity, refusal of another run, per-epoch log file, a Lightning
Trainer with exact resume.

``run.json`` holds the run's identity (settings that change the result, plus the keys of its inputs) and its config;
a rerun with the same identity resumes (or returns the finished metrics), one with another identity is refused,
naming what differs. ``train.log`` gets the recipe's INFO lines (one JSON line per epoch) across restarts. The
Trainer writes ``checkpoints/last.ckpt`` at every epoch end (``crossdistill.train.resume``), keeps the best epoch
under ``checkpoints/best-EEE.ckpt`` and logs to ``logs/metrics.csv`` and ``tensorboard/``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from omegaconf import DictConfig, OmegaConf

from crossdistill.common import atomic_write_text
from crossdistill.train.resume import EpochEndCheckpoint, ResumePoint, refuse_other_settings, run_loggers

RUN_FILE = "run.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
LOG_FILE = "train.log"
LOGGER = "crossdistill.train.asr"  # the recipes' modules log below it; append_log writes it to train.log


def check_run_folder(out: Path, identity: dict[str, Any], what: str) -> dict[str, Any] | None:
    """Refuse a folder that holds another run (or anything else); return this run's metrics if it finished."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {out} exists and is not a folder")
    run_file = out / RUN_FILE
    if not run_file.is_file():
        if out.is_dir() and any(out.iterdir()):
            raise ValueError(f"out {out} is not empty and holds no {what} ({RUN_FILE}); choose another folder")
        return None
    previous = json.loads(run_file.read_text(encoding="utf-8")).get("identity", {})
    refuse_other_settings(out, what, previous, identity)
    metrics = out / METRICS_FILE
    return json.loads(metrics.read_text(encoding="utf-8")) if metrics.is_file() else None


def record_run(out: Path, identity: dict[str, Any], config: DictConfig) -> None:
    """Write ``run.json`` and ``config.yaml`` (on the first process only; DDP workers find them)."""
    if int(os.environ.get("LOCAL_RANK", "0")) != 0 or int(os.environ.get("NODE_RANK", "0")) != 0:
        return
    out.mkdir(parents=True, exist_ok=True)
    payload = {"identity": identity, "config": OmegaConf.to_container(config, resolve=True)}
    atomic_write_text(out / RUN_FILE, json.dumps(payload, indent=2, sort_keys=True) + "\n")
    atomic_write_text(out / CONFIG_FILE, OmegaConf.to_yaml(config))


@contextlib.contextmanager
def append_log(path: Path, rank: int, name: str = LOGGER) -> Iterator[None]:
    """Append logger ``name``'s INFO lines to ``path`` on rank 0 (the file survives restarts)."""
    if rank != 0:
        yield
        return
    logger = logging.getLogger(name)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        handler.close()


@contextlib.contextmanager
def quiet_lightning(quiet: bool) -> Iterator[None]:
    """Without a progress bar (output is not a terminal), Lightning's start-up notices stay out of the output too."""
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    previous = logger.level
    if quiet:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


def build_trainer(config: DictConfig, out: Path, resume: ResumePoint | None, progress: bool, monitor: str,
                  mode: str) -> pl.Trainer:  # fmt: skip
    """A Trainer from a recipe config's ``epochs``, ``grad_clip`` and ``trainer.*`` (``train.config.TrainerConfig``),
    keeping the epoch with the best ``monitor`` (``mode`` max or min; the earliest on ties) and resuming exactly.

    The recipe's data module shards the training set itself (``use_distributed_sampler=False``).
    """
    best = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best-{epoch:03d}",
        monitor=monitor,
        mode=mode,
        save_top_k=1,
        enable_version_counter=False,  # a repeated epoch rewrites its own file
    )
    callbacks: list[pl.Callback] = [best, EpochEndCheckpoint(out / "checkpoints")]
    if progress:
        callbacks.append(TQDMProgressBar(leave=False))
    return pl.Trainer(
        max_epochs=config.epochs,
        accelerator=config.trainer.accelerator,
        devices=config.trainer.devices,
        num_nodes=config.trainer.num_nodes,
        strategy=config.trainer.strategy,
        precision=config.trainer.precision,
        deterministic=config.trainer.deterministic,
        log_every_n_steps=config.trainer.log_every_n_steps,
        gradient_clip_val=config.grad_clip or None,
        callbacks=callbacks,
        logger=run_loggers(out, "logs", resume),
        enable_progress_bar=progress,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
        default_root_dir=out,
    )
