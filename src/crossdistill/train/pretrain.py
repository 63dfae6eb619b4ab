"""Acoustic pre-training (Lugosch et al. 2019): frame-wise phoneme and word classification from alignments.

Loss: cross-entropy of the phoneme classifier at the phoneme rate plus cross-entropy of the word classifier
at the word rate (Lugosch's ``pretraining_type=2``), each averaged over frames that have a target. Adam,
learning rate 1e-3 (Lugosch's ``pretraining_lr``). The run keeps the epoch with the lowest validation loss,
reports its phoneme and word frame accuracies on valid and test, and saves the module (safetensors +
config.json + vocab.json) to the output folder, where ``crossdistill train`` reads it (``acoustic=DIR``).

Adaptation: Lugosch pre-trained on random 2.25 s (mean) crops of LibriSpeech utterances; FSC-style
commands are about that long already, so whole utterances are used.

Output folder::

    model.safetensors, config.json, vocab.json   the pre-trained module (AcousticModule.from_pretrained)
    metrics.json                                 frame accuracies (valid, test), majority-class chance, ...
    pretrain_run.json                            the settings; a re-run with other settings is refused
    checkpoints/last.ckpt, checkpoints/best.ckpt Lightning checkpoints; a re-run resumes from last.ckpt exactly
                                                 (crossdistill.train.resume); a finished run is left as it is
    logs/csv/metrics.csv, logs/tensorboard/      CSV and TensorBoard logs, continued across restarts
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy

from crossdistill.common import atomic_write_text
from crossdistill.common.progress import show_progress
from crossdistill.data.corpus import load_corpus
from crossdistill.data.loading import IGNORE_INDEX
from crossdistill.students.acoustic import AcousticConfig, AcousticModule
from crossdistill.students.configs import config_from_dict, config_to_dict
from crossdistill.students.presets import acoustic_preset
from crossdistill.students.slu import count_parameters
from crossdistill.train.pretrain_data import PretrainDataModule, build_vocabularies, require_alignments
from crossdistill.train.pretrain_options import PretrainOptions
from crossdistill.train.progress import progress_callbacks
from crossdistill.train.resume import (
    EpochEndCheckpoint,
    ResumePoint,
    find_resume_point,
    refuse_other_settings,
    run_loggers,
)
from crossdistill.train.specaugment import augment_batch, build_augment, slu_specaugment_config

RUN_FILE = "pretrain_run.json"
METRICS_FILE = "metrics.json"
VOCAB_FILE = "vocab.json"
LEVELS = ("phoneme", "word")


def masked_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy over frames whose target is not -100 (zero, not NaN, when there are none)."""
    losses = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    count = (targets != IGNORE_INDEX).sum().clamp_min(1)
    return losses / count


class LabelCounts(Metric):
    """Histogram of the targets seen (summed across processes): gives the majority-class frame accuracy."""

    full_state_update = False

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.add_state("counts", default=torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, targets: Tensor) -> None:
        valid = targets[targets != IGNORE_INDEX]
        self.counts += torch.bincount(valid, minlength=self.counts.shape[0])

    def compute(self) -> Tensor:
        return self.counts.max() / self.counts.sum().clamp_min(1)


class AcousticPretrainer(pl.LightningModule):
    """Lightning wrapper: trains an :class:`AcousticModule` on frame-wise phoneme and word targets."""

    def __init__(self, acoustic: dict[str, Any], lr: float = 1e-3, specaugment: bool = False) -> None:
        super().__init__()
        self.save_hyperparameters()  # plain dicts and numbers only: checkpoints load with weights_only
        self.module = AcousticModule(config_from_dict(AcousticConfig, acoustic, "acoustic"))
        self.lr = lr
        self.augment = build_augment(slu_specaugment_config(enabled=specaugment), self.module.input_kind)
        sizes = {"phoneme": self.module.config.n_phonemes, "word": self.module.config.n_words}
        self.accuracy = torch.nn.ModuleDict(
            {
                f"{stage}_{level}": MulticlassAccuracy(sizes[level], average="micro", ignore_index=IGNORE_INDEX)
                for stage in ("train", "valid", "test")
                for level in LEVELS
            }
        )
        self.chance = torch.nn.ModuleDict(
            {f"{stage}_{level}": LabelCounts(sizes[level]) for stage in ("valid", "test") for level in LEVELS}
        )

    def _step(self, batch: dict, stage: str) -> Tensor:
        inputs = batch["features"] if "features" in batch else batch["waveform"]
        out = self.module(inputs, batch["lengths"])
        logits = {"phoneme": out.phoneme_logits, "word": out.word_logits}
        losses = {}
        for level in LEVELS:
            targets = batch[f"{level}_targets"]
            if targets.shape != logits[level].shape[:2]:
                raise ValueError(
                    f"{level} targets {tuple(targets.shape)} do not match the logits {tuple(logits[level].shape)}"
                )
            losses[level] = masked_cross_entropy(logits[level], targets)
            accuracy = self.accuracy[f"{stage}_{level}"]
            accuracy.update(logits[level].detach().flatten(0, 1), targets.flatten())
            self.log(f"{stage}/{level}_frame_accuracy", accuracy, on_step=False, on_epoch=True)
            if stage != "train":
                self.chance[f"{stage}_{level}"].update(targets)
                self.log(f"{stage}/{level}_majority_accuracy", self.chance[f"{stage}_{level}"], on_epoch=True)
            self.log(f"{stage}/{level}_loss", losses[level], on_step=False, on_epoch=True, batch_size=len(inputs))
        loss = losses["phoneme"] + losses["word"]
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(inputs))
        return loss

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        return self._step(augment_batch(batch, self.augment), "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "valid")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "test")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.module.parameters(), lr=self.lr)


def check_run_identity(out: Path, options: PretrainOptions, corpus_fingerprint: str) -> dict[str, Any] | None:
    """Refuse ``out`` if it holds a run with other settings; return that run's metrics if it is finished with as many
    epochs as ``options`` asks for (None if there is something to train)."""
    identity = {**options.identity(), "corpus": corpus_fingerprint}
    path = out / RUN_FILE
    if path.is_file():
        previous = json.loads(path.read_text(encoding="utf-8")).get("identity", {})
        refuse_other_settings(out, "pre-training run", previous, identity)
    if (out / METRICS_FILE).is_file():
        metrics = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
        if metrics.get("epochs") == options.epochs:
            return metrics
    return None


def record_run_identity(out: Path, options: PretrainOptions, corpus_fingerprint: str) -> None:
    identity = {**options.identity(), "corpus": corpus_fingerprint}
    atomic_write_text(out / RUN_FILE, json.dumps({"identity": identity, "options": asdict(options)}, indent=2) + "\n")


def pretrain_acoustic(options: PretrainOptions) -> dict[str, Any]:
    """Run (or resume) pre-training; returns the metrics also written to ``out/metrics.json``."""
    started = time.time()
    corpus = load_corpus(options.corpus)
    require_alignments(corpus)
    out = Path(options.out)
    finished = check_run_identity(out, options, corpus.fingerprint())
    if finished is not None:
        return finished  # the same command again: the finished run is left as it is
    out.mkdir(parents=True, exist_ok=True)
    record_run_identity(out, options, corpus.fingerprint())
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS on a GPU
    pl.seed_everything(options.seed, workers=True, verbose=False)

    phonemes, words = build_vocabularies(corpus)
    config = acoustic_preset(options.preset, options.frontend, n_phonemes=len(phonemes), n_words=len(words))
    model = AcousticPretrainer(config_to_dict(config), lr=options.lr, specaugment=options.specaugment)
    data = PretrainDataModule(
        corpus,
        config,
        model.module.output_lengths,
        (model.module.phoneme_frame_shift_s, model.module.word_frame_shift_s),
        phonemes,
        words,
        batch_size=options.batch_size,
        seed=options.seed,
        num_workers=options.num_workers,
        max_utterances=options.max_utterances,
        cache_dir=options.cache_dir,
        progress=show_progress(options.progress),
    )

    resume = find_resume_point(out / "checkpoints")
    trainer = _build_trainer(options, out, resume)
    trainer.fit(model, datamodule=data, ckpt_path=resume.checkpoint if resume else None, weights_only=True)

    best = trainer.checkpoint_callback.best_model_path
    best_state = torch.load(best, map_location="cpu", weights_only=True)
    results = {}
    for split, run in (("valid", trainer.validate), ("test", trainer.test)):
        (logged,) = run(model, datamodule=data, ckpt_path=best, weights_only=True, verbose=False)
        results[split] = _split_metrics(logged, split)
    if trainer.global_rank != 0:
        return {}

    model.module.save_pretrained(out, extra={VOCAB_FILE: {"phonemes": phonemes, "words": words}})
    metrics = {
        "corpus": str(corpus.root),
        "preset": options.preset,
        "frontend": options.frontend,
        "parameters": count_parameters(model.module),
        "n_phonemes": len(phonemes),
        "n_words": len(words),
        "frame_shift_s": {"phoneme": model.module.phoneme_frame_shift_s, "word": model.module.word_frame_shift_s},
        "utterances": {split: len(ds) for split, ds in data.datasets.items()},
        "epochs": trainer.current_epoch,
        "best_epoch": int(best_state["epoch"]) + 1,  # counted from 1, like "epochs"
        "best_checkpoint": os.path.relpath(best, out),
        "resumed_after_epochs": resume.epoch if resume else None,  # epochs done by the run this one continued
        "valid": results["valid"],
        "test": results["test"],
        "seconds": round(time.time() - started, 1),
    }
    atomic_write_text(out / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics


def _split_metrics(logged: dict[str, float], split: str) -> dict[str, float]:
    keys = ["loss"] + [f"{level}_{what}" for level in LEVELS for what in ("frame_accuracy", "majority_accuracy")]
    return {key: round(float(logged[f"{split}/{key}"]), 4) for key in keys}


def _build_trainer(options: PretrainOptions, out: Path, resume: ResumePoint | None) -> pl.Trainer:
    best = ModelCheckpoint(
        dirpath=out / "checkpoints", filename="best", monitor="valid/loss", mode="min", enable_version_counter=False
    )
    bar, progress = progress_callbacks(options.progress, ("train/loss", "valid/loss", "valid/phoneme_frame_accuracy"))
    return pl.Trainer(
        max_epochs=options.epochs,
        accelerator=options.accelerator,
        devices=options.devices,
        deterministic=True,
        callbacks=[best, EpochEndCheckpoint(out / "checkpoints"), *progress],
        logger=run_loggers(out / "logs", "csv", resume),
        enable_progress_bar=bar,
        enable_model_summary=False,
        log_every_n_steps=10,
        num_sanity_val_steps=0,
    )
