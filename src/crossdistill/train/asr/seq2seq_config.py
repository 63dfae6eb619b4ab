"""The configuration of one seq2seq ASR run (``recipe: seq2seq``): an omegaconf structured config.

A YAML file (``configs/asr/seq2seq/``) plus ``key=value`` overrides; a misspelled key, a wrong type, an unknown
objective, lambda outside [0, 1] for LST or a temperature <= 0 fails when the config is loaded, naming the key and
the value, before any file is read or written. The inputs (corpus, units, LM, transcript cache) are checked against
each other by ``crossdistill.train.asr.seq2seq_inputs`` before training starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from crossdistill.common.config import drop_when_off, load_structured_config, settings_without
from crossdistill.students.asr import SpecAugmentConfig
from crossdistill.students.asr.seq2seq.model import Seq2SeqConfig
from crossdistill.students.asr.seq2seq.search import check_search_options
from crossdistill.train.asr.hybrid_config import SplitsConfig
from crossdistill.train.config import TrainerConfig

RECIPE = "seq2seq"
OBJECTIVES = ("supervised", "lst", "multitask")
FRAME_UNITS = ("phone", "senone")  # frame labels the auxiliary encoder loss can read (subwords are the decoder's)
# Paper 001, Section 5.1: T is fixed at 5.0 in the LST sweep (eq. 3) and at 1.0 for the multi-task head (eq. 4).
DEFAULT_TEMPERATURES = {"lst": 5.0, "multitask": 1.0}


@dataclass
class ObjectiveConfig:
    """What the decoder learns (paper 001, Section 5.1).

    name: ``supervised`` (cross-entropy on the reference subwords), ``lst`` (paper 001 eq. 3: the supervised head
      learns (1 - lambda) * one-hot + lambda * softmax(LM / T)) or ``multitask`` (paper 001 eq. 4: CE of the
      supervised head + lambda * T^2 * KL(softmax(LM / T) || softmax(kd head / T)) on a second output layer).
    weight: lambda; in [0, 1] for ``lst``, >= 0 for ``multitask``, ignored by ``supervised``.
    temperature: T; None takes the paper's value (5.0 for ``lst``, 1.0 for ``multitask``).
    """

    name: str = "supervised"
    weight: float = 0.0
    temperature: float | None = None

    @property
    def uses_teacher(self) -> bool:
        return self.name != "supervised"

    def resolved_temperature(self) -> float:
        return DEFAULT_TEMPERATURES.get(self.name, 1.0) if self.temperature is None else float(self.temperature)


@dataclass
class ModelOptions:
    """The seq2seq model's sizes (``crossdistill.students.asr.seq2seq.Seq2SeqConfig``; the vocabulary comes from the
    units folder, the KD and CTC layers from the objective and ``ctc_weight``)."""

    num_mel_bins: int = 80
    conv_channels: int = 64
    d_model: int = 144
    num_heads: int = 4
    ff_dim: int = 576
    encoder_layers: int = 6
    decoder_layers: int = 3
    dropout: float = 0.1


@dataclass
class DecodeConfig:
    """Beam search of the final evaluation (``crossdistill.students.asr.seq2seq.beam_search``).

    beam: beam size. length_penalty: alpha of the length normalization score / |y|^alpha. max_tokens: most output
    tokens (besides the utterance's encoder frames). batch_size: utterances per decoding batch. ctc_weight: w of
    joint CTC/attention decoding (ESPnet's; needs ``ctc_weight`` > 0 in training for the CTC layer); 0 = attention
    only (default).
    """

    beam: int = 4
    length_penalty: float = 1.0
    max_tokens: int = 200
    batch_size: int = 16
    ctc_weight: float = 0.0


@dataclass
class Seq2SeqTrainConfig:
    """One seq2seq run (paper 001, Section 5.1 and Fig. 3).

    recipe: ``seq2seq`` (``crossdistill asr train`` dispatches on it).
    corpus: corpus folder. units: the units folder made from it (the subword inventory and sentencepiece model).
    out: run folder (config, checkpoints, logs, metrics.json, model/, hypotheses).
    lm: the subword LM folder (``crossdistill asr lm train --unit subword``); needed by ``lst`` and ``multitask``.
    teacher_cache: its transcript cache (``crossdistill asr lm transcripts``); None: the one under
      ``<lm>/transcripts/<key>``, built when missing. teacher_top_k: rows of that cache (0 = full distributions,
      the default: at T = 5 the LM's tail matters).
    features_cache: root of the fbank cache (default ``$CROSSDISTILL_CACHE`` or ``~/.cache/crossdistill``).
    objective: supervised, LST (eq. 3) or multi-task (eq. 4), with lambda and T.
    ctc_weight: w of joint CTC-attention training, loss = (1 - w) * objective + w * CTC (ESPnet); 0 = off (default).
    frame_weight: weight of an auxiliary frame classification loss on the encoder, loss += frame_weight * CE(the
      alignment's ``frame_unit`` label of every subsampled frame); 0 = off (default). Our addition, not the
      paper's: on corpora of an hour the attention decoder does not learn to read the encoder without it
      (docs/asr.md). frame_unit: ``phone`` or ``senone`` (the units folder's frame labels).
    splits, model, specaugment, decode: split names, sizes, training-time augmentation, final beam search.
    epochs, batch_size (utterances per process and step), lr (Adam, after a linear warm-up of warmup_steps),
    weight_decay, grad_clip (max gradient norm; 0 = off), seed: the optimisation. eval_batch_size: utterances per
    dev batch. shuffle: shuffle batches. bucket_factor: batches per length-sorting pool. num_workers: DataLoader
    workers. threads: torch CPU threads (None: torch's default). trainer: Lightning settings.
    """

    recipe: str = RECIPE
    corpus: str = MISSING
    units: str = MISSING
    out: str = MISSING
    lm: str | None = None
    teacher_cache: str | None = None
    teacher_top_k: int = 0
    features_cache: str | None = None
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    ctc_weight: float = 0.0
    frame_weight: float = 0.0
    frame_unit: str = "phone"
    splits: SplitsConfig = field(default_factory=SplitsConfig)
    model: ModelOptions = field(default_factory=ModelOptions)
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    epochs: int = 30
    batch_size: int = 16
    eval_batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 500
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    seed: int = 0
    shuffle: bool = True
    bucket_factor: int = 20
    num_workers: int = 0
    threads: int | None = None
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


# Where inputs live and how a run executes, never what it computes: a resumed run may change them (inputs enter the
# run's identity through their keys instead).
EXECUTION_KEYS = ("corpus", "units", "out", "lm", "teacher_cache", "features_cache", "num_workers", "threads")
TRAINER_EXECUTION_KEYS = ("progress_bar",)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> DictConfig:
    """Schema <- YAML file <- ``key=value`` overrides, checked; errors name the file or key at fault.

    This is the ``load_config`` of the recipe contract (``crossdistill.train.asr``).
    """
    config = load_structured_config(Seq2SeqTrainConfig, path, overrides, ("corpus", "units", "out"),
                                    "seq2seq training config")  # fmt: skip
    check_config(config, f" in {path}" if path else "")
    return config


def objective_of(config: DictConfig) -> ObjectiveConfig:
    return ObjectiveConfig(**OmegaConf.to_container(config.objective, resolve=True))


def check_config(config: DictConfig, where: str = "") -> None:
    """Values the schema's types cannot check: the recipe, the objective and its lambda and T, ranges."""
    if config.recipe != RECIPE:
        raise ValueError(f"recipe must be {RECIPE!r} for this module, got {config.recipe!r}{where}")
    objective = objective_of(config)
    if objective.name not in OBJECTIVES:
        raise ValueError(f"objective.name{where} must be one of {list(OBJECTIVES)}, got {objective.name!r}")
    if objective.name == "lst" and not 0.0 <= objective.weight <= 1.0:
        raise ValueError(
            f"objective.weight (lambda of LST, paper 001 eq. 3) must lie in [0, 1], got {objective.weight}"
        )
    if objective.name == "multitask" and not objective.weight >= 0.0:
        raise ValueError(f"objective.weight (lambda of paper 001 eq. 4) must be >= 0, got {objective.weight}")
    if objective.temperature is not None and not objective.temperature > 0:
        raise ValueError(f"objective.temperature (T) must be > 0, got {objective.temperature}")
    if objective.uses_teacher and config.lm is None:
        raise ValueError(f"objective.name={objective.name!r} distils the subword LM: set lm=<the LM folder>{where}")
    if not 0.0 <= config.ctc_weight < 1.0:
        raise ValueError(f"ctc_weight must lie in [0, 1), got {config.ctc_weight}")
    if not config.frame_weight >= 0.0:
        raise ValueError(f"frame_weight must be >= 0, got {config.frame_weight}")
    if config.frame_unit not in FRAME_UNITS:
        raise ValueError(f"frame_unit must be one of {list(FRAME_UNITS)}, got {config.frame_unit!r}")
    at_least_one = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "eval_batch_size": config.eval_batch_size,
        "bucket_factor": config.bucket_factor,
        "decode.batch_size": config.decode.batch_size,
    }
    if config.threads is not None:
        at_least_one["threads"] = config.threads
    for key, value in at_least_one.items():
        if value < 1:
            raise ValueError(f"{key} must be >= 1, got {value}")
    if not config.lr > 0:
        raise ValueError(f"lr must be > 0, got {config.lr}")
    for key in ("warmup_steps", "weight_decay", "grad_clip", "num_workers", "teacher_top_k"):
        if config[key] < 0:
            raise ValueError(f"{key} must be >= 0, got {config[key]}")
    splits = [config.splits.train, config.splits.dev, config.splits.test]
    if len(set(splits)) != 3:
        raise ValueError(f"splits.train, splits.dev and splits.test must differ, got {splits}")
    check_search_options(
        config.decode.beam, config.decode.length_penalty, config.decode.max_tokens, config.decode.ctc_weight
    )
    if config.decode.ctc_weight > 0 and config.ctc_weight == 0:
        raise ValueError("decode.ctc_weight > 0 needs the CTC layer: train with ctc_weight > 0 too")
    Seq2SeqConfig(vocab_size=4, **config.model).validate()  # the real vocabulary is the units folder's
    SpecAugmentConfig(**config.specaugment).validate()


def settings_identity(config: DictConfig) -> dict[str, Any]:
    """The settings a resumed run must share with the run it continues (locations and execution keys left out)."""
    plain = settings_without(config, EXECUTION_KEYS, TRAINER_EXECUTION_KEYS)
    drop_when_off(plain, "frame_weight", ["frame_weight", "frame_unit"])  # options added after the first runs
    drop_when_off(plain, "decode.ctc_weight", ["decode.ctc_weight"])
    return plain
