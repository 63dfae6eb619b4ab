"""The configuration of one intent-module training run: a YAML file plus ``key=value`` overrides.

The schema is a dataclass handed to omegaconf, so a misspelled key or a wrong type fails at load time with the
offending key named, before anything trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from crossdistill.common.config import drop_when_off, settings_without
from crossdistill.kd import build_objective
from crossdistill.students.asr.specaugment import SpecAugmentConfig
from crossdistill.students.configs import config_from_dict
from crossdistill.students.intent import SLOT_HEADS, IntentConfig
from crossdistill.students.slu import INTENT_INPUTS, UNFREEZE_SCOPES
from crossdistill.train.specaugment import slu_specaugment_config

SUPERVISED_MODES = ("intent", "slots")
OPTIMIZERS = ("adam", "sgd")


@dataclass
class TrainerConfig:
    """Lightning Trainer settings that differ between a laptop, a GPU box and a cluster.

    accelerator/devices/num_nodes/strategy are passed to ``lightning.pytorch.Trainer`` as they are
    (e.g. ``trainer.devices=2 trainer.strategy=ddp`` for two processes; on CPU DDP uses gloo).
    """

    accelerator: str = "auto"
    devices: Any = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    log_every_n_steps: int = 10
    progress_bar: bool = True
    deterministic: bool = True


@dataclass
class TrainConfig:
    """One run.

    corpus: corpus root (FSC layout). acoustic: folder of the pre-trained acoustic module (``crossdistill pretrain``).
    teacher_cache: folder of the teacher cache (``crossdistill teacher cache``); needed when a KD term is active.
    out: run folder (checkpoints, logs, metrics.json, model/).
    supervised: ``intent`` (one 31-way head) or ``slots`` (action/object/location heads, right only if all are).
    intent: overrides of the intent module (hidden, bidirectional, dropout).
    intent_input: what the intent module reads from the acoustic module (``word_hidden`` or ``word_posteriors``).
    unfreeze: ``none`` (acoustic module frozen, its outputs computed once and cached), ``word`` (the word-level
    layers and word classifier train with the intent module, on audio batches) or ``all`` (the whole acoustic
    module, front end included, trains).
    objective: a ``crossdistill.kd.build_objective`` mapping (terms with distance and policy, or LST).
    epochs, batch_size, optimizer (adam or sgd), lr, weight_decay, seed: the optimisation.
    specaugment: SpecAugment on the log-mels at training time (``crossdistill.train.specaugment``); off by default,
    and only with ``unfreeze`` word or all (a frozen module's outputs are cached, so there is nothing to mask).
    shuffle: shuffle training batches (off only for checks that compare runs step by step).
    num_workers: DataLoader workers. threads: torch CPU threads (None: torch's default); on a shared CPU, 1 often
    beats 2 for these small recurrent models.
    """

    corpus: str = MISSING
    acoustic: str = MISSING
    out: str = MISSING
    teacher_cache: str | None = None
    supervised: str = "intent"
    intent: dict[str, Any] = field(default_factory=dict)
    intent_input: str = "word_hidden"
    unfreeze: str = "none"
    objective: dict[str, Any] = field(default_factory=lambda: {"type": "terms", "terms": []})
    epochs: int = 20
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    specaugment: SpecAugmentConfig = field(default_factory=slu_specaugment_config)
    shuffle: bool = True
    num_workers: int = 0
    threads: int | None = None
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


def load_train_config(path: str | Path | None = None, overrides: list[str] | None = None) -> DictConfig:
    """Schema <- YAML file <- ``key=value`` overrides; errors name the file or key at fault."""
    schema = OmegaConf.structured(TrainConfig)
    layers = [schema]
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        try:
            layers.append(OmegaConf.load(path))
        except Exception as error:  # yaml errors carry the line
            raise ValueError(f"cannot parse config {path}: {error}") from error
    try:
        if overrides:
            layers.append(OmegaConf.from_dotlist(list(overrides)))
        config = OmegaConf.merge(*layers)
    except OmegaConfBaseException as error:
        where = f" in {path}" if path else ""
        raise ValueError(f"bad training config{where}: {error}".splitlines()[0]) from error
    check_train_config(config, f" in {path}" if path else "")
    return config


def check_train_config(config: DictConfig, where: str = "") -> None:
    """Check every setting of a merged config before anything is written: choices, numbers, the intent module's
    overrides, and the objective built as the distillation core types it (distances, policies, schedules and
    their parameters, decisions, heads). Raises ValueError naming the setting (and ``where``)."""
    missing = sorted(key for key in ("corpus", "acoustic", "out") if OmegaConf.is_missing(config, key))
    if missing:
        raise ValueError(f"training config lacks {missing}{where}; set them in the file or as key=value overrides")
    choices = {"optimizer": OPTIMIZERS, "unfreeze": UNFREEZE_SCOPES, "supervised": SUPERVISED_MODES,
               "intent_input": INTENT_INPUTS}  # fmt: skip
    for key, allowed in choices.items():
        if config[key] not in allowed:
            raise ValueError(f"{key} must be one of {list(allowed)}, got {config[key]!r}{where}")
    for key in ("epochs", "batch_size"):
        if config[key] < 1:
            raise ValueError(f"{key} must be at least 1, got {config[key]}{where}")
    if not config.lr > 0 or config.weight_decay < 0:
        raise ValueError(f"lr must be > 0 and weight_decay >= 0, got {config.lr} and {config.weight_decay}{where}")
    try:
        intent = config_from_dict(IntentConfig, {**to_plain(config.intent), "heads": {"intent": 1}}, "intent")
        intent.validate()
        if not 0 <= intent.dropout < 1:
            raise ValueError(f"intent.dropout must lie in [0, 1), got {intent.dropout}")
        objective = build_objective(to_plain(config.objective))
        _check_objective(objective, config)
        SpecAugmentConfig(**to_plain(config.specaugment)).validate()
        if config.specaugment.enabled and config.unfreeze == "none":
            raise ValueError(
                "specaugment.enabled needs unfreeze=word or all: with unfreeze=none the frozen acoustic module's "
                "outputs are computed once and cached, so no features reach training to be masked"
            )
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"bad training config{where}: {error}") from error


def _check_objective(objective, config: DictConfig) -> None:
    heads = {"intent"} if config.supervised == "intent" else set(SLOT_HEADS)
    terms = getattr(objective, "terms", None)
    if terms is None:  # LST: the supervised head learns the interpolated target
        if objective.student_head not in heads:
            raise ValueError(f"objective.student_head {objective.student_head!r} is not a head of {sorted(heads)}")
        return
    for term in terms:
        if term.student_head not in heads:
            raise ValueError(f"term {term.label}: student_head {term.student_head!r} is not a head of {sorted(heads)}")
        for epoch in range(1, config.epochs + 1):  # runs the schedule with its parameters, as training will
            term.policy.scheduled_factor(epoch, config.epochs)


# Settings that change how a run is executed, not what it computes: a resumed run may change them.
EXECUTION_KEYS = ("out", "threads", "num_workers")
TRAINER_EXECUTION_KEYS = ("progress_bar",)


def run_identity(config: DictConfig) -> dict[str, Any]:
    """The settings that a resumed run must share with the run it continues (all but ``EXECUTION_KEYS``).

    ``specaugment`` counts only when it is on: a run made before the option existed (its ``config.yaml`` lacks it)
    is the same run as one with SpecAugment off.
    """
    identity = settings_without(config, EXECUTION_KEYS, TRAINER_EXECUTION_KEYS)
    drop_when_off(identity, "specaugment.enabled", ["specaugment"])
    return identity


def to_plain(config: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(config, resolve=True)
