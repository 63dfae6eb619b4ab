"""The configuration of one hybrid acoustic-model run (``recipe: hybrid``): an omegaconf structured config.

A YAML file (one per Table 1 cell under ``configs/asr/hybrid/``) plus ``key=value`` overrides; a misspelled key, a
wrong type, an unknown LM unit or a value out of range fails when the config is loaded, naming the key, before any
file is read or written. The inputs themselves (corpus, units, LM teachers and their posterior caches) are checked
against each other by ``crossdistill.train.asr.hybrid_inputs`` before training starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig

from crossdistill.common.config import load_structured_config, settings_without
from crossdistill.students.asr import HybridModelConfig, SpecAugmentConfig
from crossdistill.train.config import TrainerConfig

RECIPE = "hybrid"
LM_UNITS = ("senone", "phone", "subword")  # paper 001's three teacher LMs, in Table 1's column order


@dataclass
class TeacherConfig:
    """One teacher LM j of paper 001 eq. 4: its auxiliary head learns the LM's frame-wise posteriors.

    lm: the trained LM folder (``crossdistill asr lm train --out``); default ``<lms>/<unit>``.
    posteriors: its frame-wise posterior cache (``crossdistill asr lm posteriors --out``); default: the cache under
        ``<lm>/posteriors/`` that was made for this run's units folder (found by its key).
    weight: lambda_j, the weight of this term. temperature: tau of the KL distance (scaled by tau^2, eq. 1).
    """

    lm: str | None = None
    posteriors: str | None = None
    weight: float = 1.0
    temperature: float = 1.0


@dataclass
class TeachersConfig:
    """The three possible teachers, by unit; only those named in ``distill`` are used."""

    senone: TeacherConfig = field(default_factory=TeacherConfig)
    phone: TeacherConfig = field(default_factory=TeacherConfig)
    subword: TeacherConfig = field(default_factory=TeacherConfig)


@dataclass
class SplitsConfig:
    """Corpus split names: train (trained on), dev (checkpoint selection), test (reported)."""

    train: str = "train"
    dev: str = "dev"
    test: str = "test"


@dataclass
class HybridTrainConfig:
    """One hybrid AM run (paper 001, Section 3.2 and Table 1).

    recipe: ``hybrid`` (``crossdistill asr train`` dispatches on it).
    corpus: corpus folder (``crossdistill asr data synth`` or a LibriSpeech tree with alignments).
    units: units folder made from that corpus (``crossdistill asr units``): senone frame labels and inventories.
    out: run folder (config, checkpoints, logs, metrics.json, model/).
    lms: folder holding one trained LM per unit as ``<lms>/<unit>`` (the default of ``teachers.<unit>.lm``).
    features_cache: root of the fbank cache (default ``$CROSSDISTILL_CACHE`` or ``~/.cache/crossdistill``).
    distill: the LM units whose auxiliary heads are trained: [] is the baseline (senone cross-entropy only); the
        Table 1 cells are the subsets of [senone, phone, subword].
    teachers: per unit, the LM, its cache, lambda and tau.
    splits: corpus split names. model: the AM's sizes. specaugment: training-time augmentation.
    epochs, batch_size (utterances per process and step), lr (Adam, after a linear warm-up of warmup_steps),
    weight_decay, grad_clip (max gradient norm; 0 = off), seed: the optimisation. eval_batch_size: utterances per
    evaluation batch. shuffle: shuffle batches (off only for step-by-step checks). bucket_factor: batches per
    length-sorting pool. num_workers: DataLoader workers. threads: torch CPU threads (None: torch's default).
    trainer: Lightning settings (``trainer.devices=2 trainer.strategy=ddp`` for two processes).
    """

    recipe: str = RECIPE
    corpus: str = MISSING
    units: str = MISSING
    out: str = MISSING
    lms: str | None = None
    features_cache: str | None = None
    distill: list[str] = field(default_factory=list)
    teachers: TeachersConfig = field(default_factory=TeachersConfig)
    splits: SplitsConfig = field(default_factory=SplitsConfig)
    model: HybridModelConfig = field(default_factory=HybridModelConfig)
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    epochs: int = 10
    batch_size: int = 16
    eval_batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 200
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    seed: int = 0
    shuffle: bool = True
    bucket_factor: int = 20
    num_workers: int = 0
    threads: int | None = None
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


# Settings that change where inputs live or how a run executes, never what it computes: a resumed run may change
# them. Inputs enter the run's identity through their keys instead (units key, posterior-cache keys, features).
EXECUTION_KEYS = ("corpus", "units", "out", "lms", "features_cache", "num_workers", "threads")
TRAINER_EXECUTION_KEYS = ("progress_bar",)
TEACHER_LOCATION_KEYS = ("lm", "posteriors")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> DictConfig:
    """Schema <- YAML file <- ``key=value`` overrides, checked; errors name the file or key at fault.

    This is the ``load_config`` of the recipe contract (``crossdistill.train.asr``).
    """
    config = load_structured_config(HybridTrainConfig, path, overrides, ("corpus", "units", "out"),
                                    "hybrid training config")  # fmt: skip
    where = f" in {path}" if path else ""
    check_config(config, where)
    return config


def check_config(config: DictConfig, where: str = "") -> None:
    """Values the schema's types cannot check: the recipe, LM unit names, ranges."""
    if config.recipe != RECIPE:
        raise ValueError(f"recipe must be {RECIPE!r} for this module, got {config.recipe!r}{where}")
    unknown = [unit for unit in config.distill if unit not in LM_UNITS]
    if unknown:
        raise ValueError(f"distill{where} names unknown LM unit(s) {unknown}; known units: {list(LM_UNITS)}")
    if len(set(config.distill)) != len(config.distill):
        raise ValueError(f"distill{where} names a unit twice: {list(config.distill)}")
    for unit in config.distill:
        teacher = config.teachers[unit]
        if not teacher.weight > 0:
            raise ValueError(f"teachers.{unit}.weight (lambda) must be > 0 for a distilled unit, got {teacher.weight}")
        if not teacher.temperature > 0:
            raise ValueError(f"teachers.{unit}.temperature must be > 0, got {teacher.temperature}")
        if teacher.lm is None and config.lms is None:
            raise ValueError(f"distill names {unit!r} but neither teachers.{unit}.lm nor lms is set")
    at_least_one = {"epochs": config.epochs, "batch_size": config.batch_size, "eval_batch_size": config.eval_batch_size,
                    "bucket_factor": config.bucket_factor}  # fmt: skip
    if config.threads is not None:
        at_least_one["threads"] = config.threads
    for key, value in at_least_one.items():
        if value < 1:
            raise ValueError(f"{key} must be >= 1, got {value}")
    if not config.lr > 0:
        raise ValueError(f"lr must be > 0, got {config.lr}")
    for key in ("warmup_steps", "weight_decay", "grad_clip", "num_workers"):
        if config[key] < 0:
            raise ValueError(f"{key} must be >= 0, got {config[key]}")
    splits = [config.splits.train, config.splits.dev, config.splits.test]
    if len(set(splits)) != 3:
        raise ValueError(f"splits.train, splits.dev and splits.test must differ, got {splits}")
    HybridModelConfig(**config.model).validate()
    SpecAugmentConfig(**config.specaugment).validate()


def teacher_lm_dir(config: DictConfig, unit: str) -> Path:
    """The LM folder of the teacher over ``unit``: ``teachers.<unit>.lm`` or ``<lms>/<unit>``."""
    explicit = config.teachers[unit].lm
    return Path(explicit) if explicit is not None else Path(config.lms) / unit


def settings_identity(config: DictConfig) -> dict[str, Any]:
    """The settings a resumed run must share with the run it continues (locations and execution keys left out)."""
    plain = settings_without(config, EXECUTION_KEYS, TRAINER_EXECUTION_KEYS)
    # Only the distilled teachers count, and by their lambda and tau: their LMs and caches enter by key.
    plain["teachers"] = {unit: teacher for unit, teacher in plain["teachers"].items() if unit in config.distill}
    for teacher in plain["teachers"].values():
        for key in TEACHER_LOCATION_KEYS:
            teacher.pop(key, None)
    return plain
