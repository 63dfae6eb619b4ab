"""``recipe: hybrid``: train paper 001's hybrid AM (senone head + one auxiliary KD head per teacher LM, eq. 4).

Entry points (the recipe contract of ``crossdistill.train.asr``): ``load_config(path, overrides)`` and
``train(config)``; ``load_trained_hybrid(run)`` reads a finished run back (for decoding and alignment).

Run folder (``out``)::

    run.json                   identity (settings + keys of corpus, units, features, posterior caches) and config
    config.yaml                the resolved config, for people
    train.log                  one JSON line per finished epoch (appended across restarts)
    logs/metrics.csv, tensorboard/   per-epoch loss terms and frame accuracies (exact across a resume)
    checkpoints/last.ckpt      resume point, written at the end of every epoch (crossdistill.train.resume)
    checkpoints/best-EEE.ckpt  the epoch with the highest dev frame accuracy (earliest on ties)
    model/config.json, model/model.safetensors   that epoch's AM (HybridAcousticModel.from_pretrained), with the
                               units key and inventory sizes it was trained on
    model/priors.npz           senone priors from the training alignments (for hybrid decoding)
    metrics.json               selected epoch, its dev and test frame accuracies (and, for a corpus with a second
                               test set such as ``test_unseen_engine``, that set's under ``extra_test_frame_accuracy``:
                               never used for selection), per-epoch history; last written

A run killed at any moment and started again with the same command ends with the same metrics and weights as an
uninterrupted run; a finished run is returned as it is, and a folder holding a run with other settings or inputs
is refused.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from omegaconf import DictConfig

from crossdistill.common import atomic_path, atomic_write_text
from crossdistill.data.asr.features import PackedFeatures
from crossdistill.data.asr.units import load_units
from crossdistill.students.asr import SENONE_HEAD, HybridAcousticModel, HybridModelConfig, SpecAugmentConfig, aux_head
from crossdistill.train.asr.hybrid_config import check_config, load_config, settings_identity
from crossdistill.train.asr.hybrid_data import HybridDataModule, HybridSplitDataset
from crossdistill.train.asr.hybrid_inputs import HybridInputs, check_frame_counts, open_hybrid_inputs
from crossdistill.train.asr.hybrid_module import HybridTrainingModule, build_eq4_objective, evaluate
from crossdistill.train.asr.run_folder import (
    LOG_FILE,
    LOGGER,
    METRICS_FILE,
    append_log,
    build_trainer,
    check_run_folder,
    quiet_lightning,
    record_run,
)
from crossdistill.train.resume import earlier_seconds, find_resume_point

__all__ = ["TrainedHybrid", "load_config", "load_trained_hybrid", "train"]

log = logging.getLogger(LOGGER)

MODEL_DIR = "model"
PRIORS_FILE = "priors.npz"
SELECTION = "highest dev senone frame accuracy, earliest epoch on ties"
OBJECTIVE = "paper 001 eq. 4: CE(senone) + sum_j lambda_j * tau_j^2 * KL(LM_j posteriors || aux_j), mean over frames"


def train(config: DictConfig) -> dict[str, Any]:
    """Train (or resume, or return a finished) hybrid AM run; returns what ``out/metrics.json`` holds.

    Every input is read and checked before the run folder is touched. Under DDP only rank 0 writes the model and
    the metrics; the other processes return an empty dict.
    """
    started = time.time()
    check_config(config)
    progress = bool(config.trainer.progress_bar) and sys.stderr.isatty()
    inputs = open_hybrid_inputs(config, progress)
    out = Path(config.out)
    identity = {"settings": settings_identity(config), "inputs": inputs.identity()}
    finished = check_run_folder(out, identity, "hybrid AM run")
    if finished is not None:
        return finished
    record_run(out, identity, config)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS on a GPU
    pl.seed_everything(config.seed, workers=True, verbose=False)

    model = build_model(config, inputs)
    teachers = {unit: (config.teachers[unit].weight, config.teachers[unit].temperature) for unit in config.distill}
    vocab = {unit: inputs.units.size(unit) for unit in config.distill}
    module = HybridTrainingModule(
        model, build_eq4_objective(teachers), vocab, SpecAugmentConfig(**config.specaugment), config.lr,
        config.warmup_steps, config.weight_decay, config.seed, config.epochs,
    )  # fmt: skip
    data = HybridDataModule(inputs, config.batch_size, config.eval_batch_size, config.bucket_factor, config.seed,
                            config.shuffle, config.num_workers)  # fmt: skip
    resume = find_resume_point(out / "checkpoints")
    with quiet_lightning(not progress):
        trainer = build_trainer(config, out, resume, progress, monitor="dev/frame_accuracy", mode="max")
        with append_log(out / LOG_FILE, trainer.global_rank):
            if resume is not None:
                log.info("resuming from %s at epoch %d", resume.checkpoint, resume.epoch + 1)
            trainer.fit(module, datamodule=data, ckpt_path=resume.checkpoint if resume else None, weights_only=True)
    if trainer.global_rank != 0:
        return {}
    return _finish(out, module, trainer, inputs, config, started, data)


def build_model(config: DictConfig, inputs: HybridInputs) -> HybridAcousticModel:
    """The AM for this run: a senone head over the units folder's senones, one auxiliary head per distilled LM,
    and feature normalization from the training split."""
    heads = {SENONE_HEAD: inputs.units.size("senone")}
    heads |= {aux_head(unit): inputs.units.size(unit) for unit in config.distill}
    model = HybridAcousticModel(HybridModelConfig(**config.model), heads)
    mean, std = feature_statistics(inputs.features[inputs.splits["train"]])
    model.set_feature_statistics(mean, std)
    return model


def feature_statistics(features: PackedFeatures, chunk: int = 1 << 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin mean and standard deviation over every frame of a split (float64 sums, chunked over the memmap)."""
    values = features.features
    total = np.zeros(values.shape[1], dtype=np.float64)
    squares = np.zeros(values.shape[1], dtype=np.float64)
    for start in range(0, values.shape[0], chunk):
        block = np.asarray(values[start : start + chunk], dtype=np.float64)
        total += block.sum(axis=0)
        squares += (block * block).sum(axis=0)
    count = max(values.shape[0], 1)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
    return torch.from_numpy(mean).float(), torch.from_numpy(np.maximum(std, 1e-5)).float()


def senone_priors(counts: np.ndarray) -> np.ndarray:
    """Add-one smoothed senone frequencies: a senone never seen in training gets a small prior, never zero (the
    hybrid decoder divides posteriors by priors)."""
    counts = np.asarray(counts, dtype=np.float64)
    return (counts + 1.0) / (counts.sum() + counts.shape[0])


def _finish(out: Path, module: HybridTrainingModule, trainer: pl.Trainer, inputs: HybridInputs, config: DictConfig,
            started: float, data: HybridDataModule) -> dict[str, Any]:  # fmt: skip
    chosen = choose_epoch(module.history)
    best_path = Path(trainer.checkpoint_callback.best_model_path)
    checkpoint = torch.load(best_path, map_location="cpu", weights_only=True)
    if int(checkpoint["epoch"]) + 1 != chosen["epoch"]:
        raise RuntimeError(f"{best_path} holds epoch {int(checkpoint['epoch']) + 1}, history chose {chosen['epoch']}")
    module.load_state_dict(checkpoint["state_dict"])
    model = module.model.eval()

    train_labels = inputs.frame_labels("train").labels["senone"]
    counts = np.bincount(train_labels, minlength=inputs.units.size("senone")).astype(np.int64)
    priors = senone_priors(counts)
    model_dir = out / MODEL_DIR
    model_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(model_dir / PRIORS_FILE) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, counts=counts, priors=priors, log_priors=np.log(priors))
    model.save_pretrained(model_dir, extra=_model_metadata(config, inputs))

    metrics = {
        "recipe": "hybrid",
        "objective": OBJECTIVE,
        "distill": list(config.distill),
        "teachers": {
            unit: {
                "weight": config.teachers[unit].weight,
                "temperature": config.teachers[unit].temperature,
                "cache": str(inputs.teachers[unit].root),
                "key": inputs.teachers[unit].key,
            }
            for unit in config.distill
        },
        "selected_epoch": chosen["epoch"],
        "selection": SELECTION,
        "dev_frame_accuracy": chosen["dev"]["frame_accuracy"],
        "test_frame_accuracy": chosen["test"]["frame_accuracy"],
        **extra_test_accuracies(module, inputs, data),
        "parameters": sum(p.numel() for p in model.parameters()),
        "units_key": inputs.units.key,
        "train_frames_per_second": float(np.median([r["train"]["frames_per_second"] for r in module.history])),
        "epochs": len(module.history),
        "history": module.history,
        "seconds": round(time.time() - started + earlier_seconds(trainer), 1),  # over restarts
    }
    atomic_write_text(out / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    with append_log(out / LOG_FILE, 0):
        log.info("finished: epoch %d selected, dev frame accuracy %.4f, test %.4f", chosen["epoch"],
                 metrics["dev_frame_accuracy"], metrics["test_frame_accuracy"])  # fmt: skip
    return metrics


def extra_test_accuracies(module: HybridTrainingModule, inputs: HybridInputs, data: HybridDataModule) -> dict:
    """``{"extra_test_frame_accuracy": {split: accuracy}}`` of the selected model on the corpus's extra test sets
    (``AsrCorpus.extra_test_splits``, e.g. ``test_unseen_engine``) that the units folder has frame labels of; ``{}``
    when there are none, so the metrics of other corpora stay as they were."""
    accuracies = {}
    for split in inputs.corpus.extra_test_splits():
        if split in inputs.splits.values() or split not in inputs.units.splits:
            continue
        extended = HybridInputs(inputs.corpus, inputs.units, {**inputs.splits, split: split}, inputs.features,
                                inputs.features_key, inputs.teachers)  # fmt: skip
        check_frame_counts(extended, split)
        loader = data.eval_loader(HybridSplitDataset(extended, split))
        accuracies[split] = evaluate(module.model, module.objective, loader, module.teacher_vocab)["frame_accuracy"]
    return {"extra_test_frame_accuracy": accuracies} if accuracies else {}


def choose_epoch(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The epoch with the highest dev frame accuracy (the earliest on ties, as ModelCheckpoint keeps it)."""
    if not history:
        raise ValueError("no finished epoch to select from")
    return min(history, key=lambda record: (-record["dev"]["frame_accuracy"], record["epoch"]))


def _model_metadata(config: DictConfig, inputs: HybridInputs) -> dict[str, Any]:
    return {
        "recipe": "hybrid",
        "units_key": inputs.units.key,
        "units_dir": str(Path(config.units).absolute()),
        "inventory_sizes": {unit: inputs.units.size(unit) for unit in ("senone", "phone", "subword")},
        "distill": list(config.distill),
        "frame_shift_s": 0.01,
        "num_mel_bins": config.model.num_mel_bins,
        "priors": {"file": PRIORS_FILE, "source": f"senone frame counts of split {inputs.splits['train']!r}, add-one"},
    }


@dataclass(frozen=True)
class TrainedHybrid:
    """A finished run's AM: the model (eval mode), log senone priors (K,), and its metadata (units key, sizes...)."""

    model: HybridAcousticModel
    log_priors: torch.Tensor
    metadata: dict[str, Any]

    @property
    def units_key(self) -> str:
        return self.metadata["units_key"]


def load_trained_hybrid(run: str | Path, units: str | Path | None = None) -> TrainedHybrid:
    """Read ``run/model`` (or a model folder itself); with ``units``, check the units folder is the one the model was
    trained on (same key, same senone inventory size), else ``ValueError`` naming both."""
    run = Path(run)
    model_dir = run / MODEL_DIR if (run / MODEL_DIR).is_dir() else run
    model, metadata = HybridAcousticModel.from_pretrained(model_dir)
    priors_path = model_dir / PRIORS_FILE
    if not priors_path.is_file():
        raise FileNotFoundError(f"{priors_path} not found: {model_dir} is not a finished hybrid AM run's model")
    with np.load(priors_path, allow_pickle=False) as data:
        log_priors = torch.from_numpy(data["log_priors"]).float()
    if log_priors.shape[0] != model.head_sizes[SENONE_HEAD]:
        raise ValueError(f"{priors_path}: {log_priors.shape[0]} priors for {model.head_sizes[SENONE_HEAD]} senones")
    if units is not None:
        folder = load_units(units)
        if folder.size("senone") != model.head_sizes[SENONE_HEAD] or folder.key != metadata["units_key"]:
            raise ValueError(
                f"the senone inventory of units folder {units} ({folder.size('senone')} senones, key {folder.key}) is "
                f"not the model's ({model.head_sizes[SENONE_HEAD]} senones, units key {metadata['units_key']}, "
                f"{model_dir})"
            )
    return TrainedHybrid(model, log_priors, metadata)
