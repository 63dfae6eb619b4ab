"""Train an LSTM LM on a units folder's LM text with Lightning; select the epoch on held-out perplexity.

Run folder (``out``)::

    run.json                      the run's identity (config + units key): a rerun with other settings is refused
    train.log                     one line per epoch, appended across restarts
    checkpoints/last.ckpt, best.ckpt    Lightning checkpoints; a rerun resumes from last.ckpt
    config.json, model.safetensors      the LM of the best epoch (``LSTMLanguageModel.from_pretrained``)
    metrics.json                  perplexities (held-out LM text, AM dev transcripts), unigram baselines, history

Exact resumption: a run killed at any moment and rerun ends with the metrics and weights of an uninterrupted run.
Checkpoints are written at the end of each epoch; the resumed run repeats the interrupted epoch from its start.
Two things make that epoch identical: the batch order is a function of (seed, epoch) (a ``DistributedSampler``,
also on one process, under length bucketing seeded the same way), and the global RNG that drives dropout is
reseeded from (seed, epoch, rank) at the first batch of every epoch, so no RNG state has to survive the kill.
A finished run is left untouched by a rerun, which returns its metrics.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from omegaconf import DictConfig, OmegaConf
from torch import Tensor
from torch.utils.data import DataLoader, DistributedSampler, SequentialSampler

from crossdistill.common import atomic_write_text
from crossdistill.data.loading import LengthBucketBatchSampler
from crossdistill.teachers.lm.config import run_identity
from crossdistill.teachers.lm.inference import perplexity, unigram_perplexity
from crossdistill.teachers.lm.model import LMConfig, LSTMLanguageModel
from crossdistill.teachers.lm.text import (
    IGNORE_INDEX,
    SentenceDataset,
    TextSelection,
    UnitSentences,
    make_lm_batch,
    read_unit_sentences,
)
from crossdistill.teachers.lm.units_folder import open_units_folder
from crossdistill.teachers.lm.vocabulary import UnitVocabulary

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
LOG_FILE = "train.log"
SELECTION = "lowest held-out (valid) perplexity, earliest epoch on ties"


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """The dropout seed of one epoch on one process: a function of the run's seed only, never of the past."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


class EpochBucketBatchSampler(LengthBucketBatchSampler):
    """Length-bucketed batches whose shuffling follows the epoch Lightning gives the inner sampler.

    Lightning calls ``set_epoch`` on a batch sampler's inner sampler only, so the bucketing seed is taken from the
    inner ``DistributedSampler``'s epoch when an iteration starts: the order is a function of (seed, epoch).
    """

    def __iter__(self):
        # A generator: the epoch is read at the first batch, after Lightning's set_epoch. (Lightning may create the
        # iterator before set_epoch, e.g. when it resumes from a checkpoint.)
        self.epoch = getattr(self.sampler, "epoch", self.epoch)
        yield from super().__iter__()


class LMDataModule(pl.LightningDataModule):
    """Training batches (sharded across processes, shuffled per epoch) and the full held-out set on every process."""

    def __init__(self, train: UnitSentences, valid: UnitSentences, boundary: int, config: DictConfig) -> None:
        super().__init__()
        self.train_set, self.valid_set = SentenceDataset(train), SentenceDataset(valid)
        self.boundary = boundary
        self.config = config

    def _collate(self, items: list[Tensor]) -> dict[str, Tensor]:
        return make_lm_batch(items, self.boundary)

    def _loader(self, dataset: SentenceDataset, sampler, batch_size: int, shuffle: bool) -> DataLoader:
        batches = EpochBucketBatchSampler(
            sampler,
            batch_size=batch_size,
            lengths=dataset.lengths(),
            bucket_factor=self.config.bucket_factor,
            shuffle=shuffle,
            seed=self.config.seed,
        )
        workers = self.config.num_workers
        return DataLoader(
            dataset,
            batch_sampler=batches,
            collate_fn=self._collate,
            num_workers=workers,
            persistent_workers=workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        sampler = DistributedSampler(
            self.train_set, num_replicas=world, rank=rank, shuffle=self.config.shuffle, seed=self.config.seed
        )
        return self._loader(self.train_set, sampler, self.config.batch_size, self.config.shuffle)

    def val_dataloader(self) -> DataLoader:
        # Every process scores the whole held-out set: the perplexity is exact and needs no cross-process sum.
        return self._loader(self.valid_set, SequentialSampler(self.valid_set), self.config.eval_batch_size, False)


class LMTrainingModule(pl.LightningModule):
    """Cross-entropy of every next unit (and ``</s>``), averaged over all units of the global batch.

    ``history`` holds one record per finished epoch (saved in checkpoints, so it survives a resume).
    """

    def __init__(self, lm: LSTMLanguageModel, lr: float, weight_decay: float, seed: int) -> None:
        super().__init__()
        self.lm = lm
        self.lr, self.weight_decay, self.seed = lr, weight_decay, seed
        self.history: list[dict[str, Any]] = []
        self._sums = torch.zeros(2, dtype=torch.float64)
        self._valid_sums = torch.zeros(2, dtype=torch.float64)
        self._epoch_started = 0.0

    def _summed_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        targets = batch["targets"]
        return self.lm.summed_cross_entropy(batch["inputs"], targets), (targets != IGNORE_INDEX).sum()

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        total, count = self._summed_loss(batch)
        # DDP averages gradients over processes; dividing by the global unit count times the world size makes that
        # average the mean over every unit of the global batch, exactly what one process with the whole batch does.
        global_count = self.trainer.strategy.reduce(count.double(), reduce_op="sum")
        loss = total * self.trainer.world_size / global_count.clamp_min(1).to(total)
        self._sums += torch.stack([total.detach().double().cpu(), count.double().cpu()])
        self.log("train/loss", total.detach() / count.clamp_min(1), prog_bar=True, on_step=True, on_epoch=False)
        return loss

    def on_train_batch_start(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        # At an epoch's first batch rather than in on_train_epoch_start, which Lightning skips for the first epoch
        # after a resume from an end-of-epoch checkpoint.
        if batch_idx == 0:
            torch.manual_seed(epoch_seed(self.seed, self.current_epoch, self.global_rank))
            self._sums.zero_()
            self._epoch_started = time.perf_counter()

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        total, count = self._summed_loss(batch)
        self._valid_sums += torch.stack([total.double().cpu(), count.double().cpu()])

    def on_validation_epoch_start(self) -> None:
        self._valid_sums.zero_()

    def on_validation_epoch_end(self) -> None:
        ppl = math.exp(float(self._valid_sums[0] / self._valid_sums[1].clamp_min(1)))
        # Every process scored the whole held-out set (see LMDataModule): the value is the same everywhere.
        self.log("valid/perplexity", ppl, prog_bar=True, sync_dist=False)

    def on_train_epoch_end(self) -> None:
        # Lightning has run this epoch's validation already; ModelCheckpoint saves after this hook.
        sums = self.trainer.strategy.reduce(self._sums.to(self.device), reduce_op="sum").cpu()
        seconds = time.perf_counter() - self._epoch_started
        record = {
            "epoch": self.current_epoch + 1,
            "train_loss": float(sums[0] / sums[1].clamp_min(1)),
            "valid_perplexity": float(self.trainer.callback_metrics["valid/perplexity"]),
            "train_units": int(sums[1]),
            "train_units_per_second": float(sums[1]) / max(seconds, 1e-9),
        }
        self.history.append(record)
        if self.global_rank == 0:
            log.info("epoch %s", json.dumps(record))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.lm.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["crossdistill_history"] = self.history

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.history = list(checkpoint.get("crossdistill_history", []))


def choose_epoch(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The epoch with the lowest held-out perplexity (the earliest on ties)."""
    if not history:
        raise ValueError("no finished epoch to select from")
    return min(history, key=lambda record: (record["valid_perplexity"], record["epoch"]))


def train_lm(config: DictConfig) -> dict[str, Any]:
    """Train (or resume, or return a finished) LM run; returns the metrics written to ``out/metrics.json``.

    Every input is read and checked before the run folder is touched. Under DDP only rank 0 writes the LM and the
    metrics; the other ranks return an empty dict.
    """
    started = time.time()
    units = open_units_folder(config.units)
    vocabulary = units.vocabulary(config.unit)
    longest, seed = config.max_sentence_units, config.seed
    selections = {
        "train": TextSelection(config.max_train_sentences, config.max_train_units, longest, seed),
        "valid": TextSelection(config.max_valid_sentences, None, longest, seed),
    }
    texts = {
        part: read_unit_sentences(units.lm_text(config.unit, part), vocabulary, selection)
        for part, selection in selections.items()
    }
    dev_path = units.lm_text(config.unit, "dev")
    texts["dev"] = read_unit_sentences(dev_path, vocabulary) if dev_path.is_file() else None
    lm_config = LMConfig(
        unit=config.unit,
        inventory=vocabulary.symbols,
        units_key=units.key,
        units_dir=str(units.root.absolute()),
        **OmegaConf.to_container(config.model),
    )

    out = Path(config.out)
    identity = {**run_identity(config), "units": units.key}
    finished = _check_run_folder(out, identity)
    if finished is not None:
        return finished
    _record_run(out, identity, config)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS on a GPU
    pl.seed_everything(config.seed, workers=True, verbose=False)

    module = LMTrainingModule(LSTMLanguageModel(lm_config), config.lr, config.weight_decay, config.seed)
    data = LMDataModule(texts["train"], texts["valid"], vocabulary.boundary, config)
    trainer = _build_trainer(config, out)
    last = out / "checkpoints" / "last.ckpt"
    with _log_to_file(out / LOG_FILE, trainer.global_rank):
        if last.is_file():
            log.info("resuming from %s", last)
        trainer.fit(module, datamodule=data, ckpt_path=str(last) if last.is_file() else None, weights_only=True)
    if trainer.global_rank != 0:
        return {}
    return _finish(out, module, trainer, vocabulary, texts, config, started)


def _finish(out: Path, module: LMTrainingModule, trainer: pl.Trainer, vocabulary: UnitVocabulary,
            texts: dict[str, UnitSentences | None], config: DictConfig, started: float) -> dict[str, Any]:  # fmt: skip
    chosen = choose_epoch(module.history)
    best_path = Path(trainer.checkpoint_callback.best_model_path)
    checkpoint = torch.load(best_path, map_location="cpu", weights_only=True)
    if int(checkpoint["epoch"]) + 1 != chosen["epoch"]:
        raise RuntimeError(f"{best_path} holds epoch {int(checkpoint['epoch']) + 1}, history chose {chosen['epoch']}")
    module.load_state_dict(checkpoint["state_dict"])
    lm = module.lm.eval()
    train, valid, dev = texts["train"], texts["valid"], texts["dev"]
    evaluated = {"valid": valid} | ({"dev": dev} if dev is not None else {})
    perplexities = {name: perplexity(lm, sentences, config.eval_batch_size) for name, sentences in evaluated.items()}
    unigram = {name: unigram_perplexity(train, sentences, vocabulary.size) for name, sentences in evaluated.items()}
    rates = [record["train_units_per_second"] for record in module.history]
    metrics = {
        "unit": vocabulary.unit,
        "vocab": vocabulary.size,
        "units_key": lm.config.units_key,
        "parameters": sum(p.numel() for p in lm.parameters()),
        "sentences": {name: len(s) for name, s in texts.items() if s is not None},
        "sentences_left_out_as_too_long": {name: s.skipped_long for name, s in texts.items() if s is not None},
        "predictions": {name: s.num_predictions for name, s in texts.items() if s is not None},
        "selected_epoch": chosen["epoch"],
        "selection": SELECTION,
        "perplexity": perplexities,
        "unigram_perplexity": unigram,
        "perplexity_definition": "exp of the mean negative log-likelihood per unit, each sentence's </s> counted "
        "as one more unit; unigram: add-one smoothed unit (and </s>) frequencies of the training text",
        "train_units_per_second": float(np.median(rates)),
        "epochs": len(module.history),
        "history": module.history,
        "seconds": round(time.time() - started, 1),
    }
    lm.save_pretrained(out)
    atomic_write_text(out / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    with _log_to_file(out / LOG_FILE, 0):
        log.info("finished: epoch %d selected, perplexity %s, unigram %s", chosen["epoch"], perplexities, unigram)
    return metrics


def _check_run_folder(out: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """Refuse a folder holding another run; return the metrics of this run if it already finished."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {out} exists and is not a folder")
    run_file = out / RUN_FILE
    if not run_file.is_file():
        if out.is_dir() and any(out.iterdir()):
            raise ValueError(f"out {out} is not empty and holds no LM run ({RUN_FILE}); choose another folder")
        return None
    previous = json.loads(run_file.read_text(encoding="utf-8")).get("identity", {})
    if previous != identity:
        changed = sorted(_differences(previous, identity))
        raise ValueError(
            f"{out} holds an LM run with other settings ({', '.join(changed)} differ); "
            "use a new out folder, or the same settings to resume it"
        )
    metrics = out / METRICS_FILE
    return json.loads(metrics.read_text(encoding="utf-8")) if metrics.is_file() else None


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    keys = set(a) | set(b)
    found = []
    for key in keys:
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            found += _differences(x, y, f"{prefix}{key}.")
        elif x != y:
            found.append(f"{prefix}{key}")
    return found


def _record_run(out: Path, identity: dict[str, Any], config: DictConfig) -> None:
    if int(os.environ.get("LOCAL_RANK", "0")) != 0 or int(os.environ.get("NODE_RANK", "0")) != 0:
        return  # DDP workers started by Lightning find the folder prepared by rank 0
    out.mkdir(parents=True, exist_ok=True)
    payload = {"identity": identity, "config": OmegaConf.to_container(config, resolve=True)}
    atomic_write_text(out / RUN_FILE, json.dumps(payload, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def _log_to_file(path: Path, rank: int) -> Iterator[None]:
    """Append this module's INFO log to ``path`` on rank 0 (train.log survives restarts)."""
    if rank != 0:
        yield
        return
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    previous = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(previous)
        handler.close()


def _build_trainer(config: DictConfig, out: Path) -> pl.Trainer:
    checkpoint = ModelCheckpoint(
        dirpath=out / "checkpoints", filename="best", monitor="valid/perplexity", mode="min", save_last=True
    )
    progress = bool(config.trainer.progress_bar) and sys.stderr.isatty()
    callbacks: list[pl.Callback] = [checkpoint] + ([TQDMProgressBar(leave=False)] if progress else [])
    return pl.Trainer(
        max_epochs=config.epochs,
        accelerator=config.trainer.accelerator,
        devices=config.trainer.devices,
        num_nodes=config.trainer.num_nodes,
        strategy=config.trainer.strategy,
        precision=config.trainer.precision,
        deterministic=True,
        gradient_clip_val=config.grad_clip or None,
        callbacks=callbacks,
        logger=False,
        enable_progress_bar=progress,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,  # LMDataModule shards the training set itself
        default_root_dir=out,
    )
