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

from crossdistill.students.slu import UNFREEZE_SCOPES

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
        missing = sorted(key for key in ("corpus", "acoustic", "out") if OmegaConf.is_missing(config, key))
    except OmegaConfBaseException as error:
        where = f" in {path}" if path else ""
        raise ValueError(f"bad training config{where}: {error}".splitlines()[0]) from error
    if missing:
        raise ValueError(f"training config lacks {missing}; set them in the file or as key=value overrides")
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {config.optimizer!r}")
    if config.unfreeze not in UNFREEZE_SCOPES:
        raise ValueError(f"unfreeze must be one of {list(UNFREEZE_SCOPES)}, got {config.unfreeze!r}")
    if config.supervised not in SUPERVISED_MODES:
        raise ValueError(f"supervised must be one of {list(SUPERVISED_MODES)}, got {config.supervised!r}")
    return config


def to_plain(config: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(config, resolve=True)
