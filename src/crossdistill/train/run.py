"""``crossdistill train``: one intent-module run, from config to metrics.json, resumable after a kill."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from crossdistill.common import atomic_write_text
from crossdistill.common.environment import numeric_environment
from crossdistill.common.progress import show_progress
from crossdistill.data.corpus import load_corpus
from crossdistill.data.loading import speech_datasets
from crossdistill.kd import build_objective
from crossdistill.students.asr.specaugment import SpecAugmentConfig
from crossdistill.students.intent import IntentConfig, supervised_heads
from crossdistill.students.slu import SLUStudent, build_student
from crossdistill.train.acoustic_inputs import feature_config_for
from crossdistill.train.config import run_identity, to_plain
from crossdistill.train.encoded_cache import build_encoded_cache
from crossdistill.train.intent_data import (
    AudioIntentDataset,
    EncodedIntentDataset,
    IntentDataModule,
    collate_audio,
    collate_encoded,
)
from crossdistill.train.intent_module import IntentDistillationModule
from crossdistill.train.progress import progress_callbacks
from crossdistill.train.resume import (
    EpochEndCheckpoint,
    ResumePoint,
    earlier_seconds,
    find_resume_point,
    refuse_other_settings,
    run_loggers,
)
from crossdistill.train.specaugment import build_augment
from crossdistill.train.teacher_tensors import open_teacher_lookup
from crossdistill.train.utterance_correctness import (
    TEST_CORRECTNESS_FILE,
    utterance_correctness,
    write_test_correctness,
)

METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.yaml"
EPOCH_LINE_KEYS = ("train/loss_epoch", "train/error", "valid/error", "test/error")


def choose_epoch(history: list[dict]) -> dict:
    """The epoch with the lowest validation error (the earliest on ties): selection never looks at test."""
    scored = [record for record in history if "valid/error" in record]
    if not scored:
        raise ValueError("no epoch has a validation error to select on")
    return min(scored, key=lambda record: (record["valid/error"], record["epoch"]))


def build_run_student(config: DictConfig, corpus) -> SLUStudent:
    """The student of a run: the pre-trained acoustic module (frozen, or partly trainable by ``config.unfreeze``)
    under a fresh intent module."""
    heads = supervised_heads(corpus.labels, config.supervised)
    intent_config = IntentConfig(**{**to_plain(config.intent), "heads": heads})
    student = build_student({"intent": intent_config, "intent_input": config.intent_input}, config.acoustic)
    student.unfreeze_acoustic(config.unfreeze)
    return student


def prepare_encoded_outputs(student: SLUStudent, config: DictConfig, corpus) -> dict:
    """The frozen acoustic module's outputs for every split, from (or into) ``<acoustic>/encoded_cache``."""
    acoustic = Path(config.acoustic)
    return build_encoded_cache(student, acoustic, corpus, acoustic / "encoded_cache")


def audio_datasets(student: SLUStudent, corpus, lookup, progress: bool = True) -> dict[str, AudioIntentDataset]:
    """Audio (log-mels from the feature cache, or the waveform) for runs that train the acoustic module too."""
    speech = speech_datasets(corpus, feature_config_for(student.acoustic.config), progress=progress)
    return {split: AudioIntentDataset(dataset, lookup) for split, dataset in speech.items()}


def previous_run(config: DictConfig) -> dict[str, Any] | None:
    """The metrics of the finished run in ``config.out`` (None if unfinished); refuses a folder that holds a run
    with other settings, since it would resume (or skip) a different run."""
    out = Path(config.out)
    if (out / CONFIG_FILE).is_file():
        previous = run_identity(OmegaConf.load(out / CONFIG_FILE))
        refuse_other_settings(out, "training run", previous, run_identity(config))
    if (out / METRICS_FILE).is_file():
        return json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
    return None


def train_intent(config: DictConfig) -> dict[str, Any]:
    """Train one run; returns (and writes to ``out/metrics.json``) the selected and last epochs' errors.

    A folder that holds this run's checkpoint resumes it exactly (see ``crossdistill.train.resume``); a finished run
    is returned as it is, without touching a file.
    """
    started = time.time()
    finished = previous_run(config)
    if finished is not None:
        return finished
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS when on a GPU
    pl.seed_everything(config.seed, workers=True, verbose=False)
    if config.threads:
        torch.set_num_threads(config.threads)

    # Every input is read and checked before the run folder is written.
    corpus = load_corpus(config.corpus)
    objective = build_objective(to_plain(config.objective))
    student = build_run_student(config, corpus)
    augment = build_augment(SpecAugmentConfig(**to_plain(config.specaugment)), student.acoustic.input_kind)
    teacher_keys = sorted(objective.teacher_keys())
    lookup = open_teacher_lookup(config.teacher_cache, teacher_keys, corpus) if teacher_keys else None
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / CONFIG_FILE, OmegaConf.to_yaml(config))
    if student.acoustic_frozen:
        encoded = prepare_encoded_outputs(student, config, corpus)
        datasets = {split: EncodedIntentDataset(corpus, split, encoded[split], lookup) for split in encoded}
        collate = collate_encoded
    else:
        progress = show_progress(config.trainer.progress_bar)
        datasets, collate = audio_datasets(student, corpus, lookup, progress), collate_audio
    data = IntentDataModule(datasets, config.batch_size, config.num_workers, config.seed, config.shuffle, collate)
    module = IntentDistillationModule(
        student, objective, config.supervised, config.lr, config.weight_decay, config.optimizer, augment
    )

    resume = find_resume_point(out / "checkpoints")
    trainer = _build_trainer(config, out, resume)
    trainer.fit(module, datamodule=data, ckpt_path=resume.checkpoint if resume else None, weights_only=True)
    if trainer.global_rank != 0:
        return {}

    chosen = choose_epoch(module.history)
    final = module.history[-1]
    best_path = trainer.checkpoint_callback.best_model_path
    if best_path:
        state = torch.load(best_path, map_location="cpu", weights_only=True)["state_dict"]
        module.load_state_dict(state)
    module.student.save_pretrained(
        out / "model",
        extra={"labels.json": corpus.labels.to_dict(), "task.json": {"supervised": config.supervised}},
    )
    # Before metrics.json (which marks the run finished): the report's utterance-level test pairs these up.
    correct = utterance_correctness(module.student, datasets["test"], collate, config.supervised, config.batch_size)
    write_test_correctness(out / TEST_CORRECTNESS_FILE, correct)
    metrics = {
        "policy": _describe(objective),
        "selected_epoch": chosen["epoch"],
        "valid_error": chosen["valid/error"],
        "test_error": chosen["test/error"],
        "last_epoch": final["epoch"],
        "last_valid_error": final.get("valid/error"),
        "last_test_error": final.get("test/error"),
        "epochs": config.epochs,
        "history": module.history,
        "wall_seconds": time.time() - started + earlier_seconds(trainer),  # over restarts
        "environment": numeric_environment(),  # what the last bits depend on beyond config and data
        "selection": "lowest validation error; test error reported at that epoch",
    }
    atomic_write_text(out / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")
    return metrics


def _describe(objective) -> str:
    terms = getattr(objective, "active_terms", None)
    if terms is None:
        return f"lst(alpha={objective.alpha}, T={objective.temperature})"
    if not terms:
        return "vanilla"
    return " + ".join(f"{t.distance}[{t.policy.describe()}]" for t in terms)


def _build_trainer(config: DictConfig, out: Path, resume: ResumePoint | None) -> pl.Trainer:
    best = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best-{epoch:03d}",
        monitor="valid/error",
        mode="min",
        save_top_k=1,
        enable_version_counter=False,  # a repeated epoch rewrites its own file
    )
    bar, progress = progress_callbacks(config.trainer.progress_bar, EPOCH_LINE_KEYS)
    callbacks = [best, EpochEndCheckpoint(out / "checkpoints"), *progress]
    return pl.Trainer(
        max_epochs=config.epochs,
        accelerator=config.trainer.accelerator,
        devices=config.trainer.devices,
        num_nodes=config.trainer.num_nodes,
        strategy=config.trainer.strategy,
        precision=config.trainer.precision,
        deterministic=config.trainer.deterministic,
        log_every_n_steps=config.trainer.log_every_n_steps,
        enable_progress_bar=bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,  # the data module shards the training set itself
        callbacks=callbacks,
        logger=run_loggers(out, "logs", resume),
        default_root_dir=out,
    )
