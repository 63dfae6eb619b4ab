"""The configuration of one LM training run: an omegaconf structured config (YAML file plus ``key=value``).

A misspelled key, a wrong type or a value out of range fails when the config is loaded, naming the key, before
anything is read or written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from crossdistill.common.config import load_structured_config, pop_dotted
from crossdistill.teachers.lm.vocabulary import check_unit


@dataclass
class LMModelOptions:
    """Sizes of the LSTM LM (see ``crossdistill.teachers.lm.model.LMConfig``)."""

    embedding_dim: int = 64
    hidden_dim: int = 128
    num_layers: int = 4
    dropout: float = 0.2


@dataclass
class LMTrainerOptions:
    """Lightning settings: passed to ``lightning.pytorch.Trainer`` as they are.

    ``devices=2 strategy=ddp`` trains on two processes (gloo on a CPU); the global batch is ``devices * num_nodes *
    batch_size`` sentences and the loss is the mean over all its units, as on one process.
    progress_bar: show a progress bar (only ever on a terminal: logs stay quiet).
    """

    accelerator: str = "auto"
    devices: Any = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    progress_bar: bool = True


@dataclass
class LMTrainConfig:
    """One LM training run.

    units: the units folder (``crossdistill asr units --out``). unit: ``senone``, ``phone`` or ``subword``.
    out: the run folder (checkpoints, train.log, metrics.json and the trained LM: config.json + model.safetensors).
    model: the LM's sizes. epochs, batch_size (sentences per process and step), lr, weight_decay (Adam), grad_clip
    (max gradient norm; 0 = off), seed: the optimisation. shuffle: shuffle batches (off only for checks that
    compare runs step by step). bucket_factor: batches per length-sorting pool (1 = no bucketing).
    max_train_units, max_train_sentences: train on a seeded random subset of the LM-train sentences holding about
    that many units, or that many sentences (None: no limit; ``crossdistill.teachers.lm.text.TextSelection``).
    The Debian LM text holds 233,697 sentences, 62M senone units: an hour per epoch on one core. The default, 1M
    units per epoch, gives every LM the same compute (docs/lm-teachers.md has the measured times and perplexities);
    ``max_train_sentences`` alone gives the three LMs the same sentences instead. max_valid_sentences: the same
    for the held-out text used for selection.
    max_sentence_units: LM-train and held-out sentences longer than that (in the LM's unit) are left out: memory
    grows with a batch's longest sentence (the Debian text has a 34,113-senone "sentence"; 1% of its sentences
    exceed 1,047 senones), while AM utterances stay short (at most 351 senones on the default corpus's dev split);
    metrics.json counts what was left out. The AM dev transcripts are never left out.
    eval_batch_size: sentences per batch when scoring. threads: torch CPU threads (None: torch's default).
    num_workers: DataLoader workers.
    """

    units: str = MISSING
    unit: str = MISSING
    out: str = MISSING
    model: LMModelOptions = field(default_factory=LMModelOptions)
    epochs: int = 4
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    shuffle: bool = True
    bucket_factor: int = 50
    max_train_units: int | None = 1_000_000
    max_train_sentences: int | None = None
    max_valid_sentences: int | None = 500
    max_sentence_units: int | None = 1024
    eval_batch_size: int = 64
    threads: int | None = None
    num_workers: int = 0
    trainer: LMTrainerOptions = field(default_factory=LMTrainerOptions)


# Settings that may differ between a run and its resumption: they do not change what is computed.
RESUMABLE_CHANGES = ("out", "threads", "num_workers", "trainer.progress_bar")


def load_lm_train_config(path: str | Path | None = None, overrides: list[str] | None = None) -> DictConfig:
    """Schema <- YAML file <- ``key=value`` overrides, checked; errors name the file or key at fault."""
    config = load_structured_config(LMTrainConfig, path, overrides, ("units", "unit", "out"), "LM training config")
    check_unit(config.unit)
    _check_ranges(config)
    return config


def _check_ranges(config: DictConfig) -> None:
    at_least_one = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "bucket_factor": config.bucket_factor,
        "eval_batch_size": config.eval_batch_size,
        "model.embedding_dim": config.model.embedding_dim,
        "model.hidden_dim": config.model.hidden_dim,
        "model.num_layers": config.model.num_layers,
    }
    for key in ("threads", "max_train_units", "max_train_sentences", "max_valid_sentences", "max_sentence_units"):
        if config[key] is not None:
            at_least_one[key] = config[key]
    for key, value in at_least_one.items():
        if value < 1:
            raise ValueError(f"{key} must be >= 1, got {value}")
    if not config.lr > 0:
        raise ValueError(f"lr must be > 0, got {config.lr}")
    if config.weight_decay < 0 or config.grad_clip < 0 or config.num_workers < 0:
        raise ValueError("weight_decay, grad_clip and num_workers must be >= 0")
    if not 0.0 <= config.model.dropout < 1.0:
        raise ValueError(f"model.dropout must lie in [0, 1), got {config.model.dropout}")


def run_identity(config: DictConfig) -> dict[str, Any]:
    """The settings a resumed run must share with the run it continues (everything that changes the result)."""
    plain = OmegaConf.to_container(config, resolve=True)
    for dotted in RESUMABLE_CHANGES:
        pop_dotted(plain, dotted)
    return plain
