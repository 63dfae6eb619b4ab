"""SpecAugment for paper 000's SLU student, at training time: lhotse's frequency and time masks on the log-mels.

The masks are paper 001's (``crossdistill.students.asr.specaugment``: ``SpecAugmentConfig``, ``BatchSpecAugment``,
per utterance, no time warp), reused here as they are. Paper 000 does not use SpecAugment; it is an option for
robustness (issue 15), **off by default**, so the paper's setups are unchanged.

Where it applies: wherever log-mel features flow into a module that trains.

- Acoustic pre-training: ``crossdistill pretrain --specaugment`` (frame targets stay valid: masks move no frame).
- Intent training that trains part of the acoustic module: ``unfreeze=word`` or ``all`` with
  ``specaugment.enabled=true``. With the default ``unfreeze=none`` the frozen module's outputs are computed once and
  cached, so there are no features to mask; that combination is refused, as is a SincNet front end (it reads the
  waveform).

Defaults: lhotse's (icefall's LibriSpeech recipe), except the frequency-mask width: lhotse's 27 bins are a third of
80 mel bins, and paper 000's student reads 40, so ``SLU_FEATURE_MASK_SIZE`` is 13.

Randomness: lhotse draws from the global torch and Python generators, which the epoch-end checkpoints save and
restore (``crossdistill.train.resume``), so a resumed run draws the same masks as an uninterrupted one.
"""

from __future__ import annotations

from crossdistill.students.asr.specaugment import BatchSpecAugment, SpecAugmentConfig

SLU_FEATURE_MASK_SIZE = 13


def slu_specaugment_config(**overrides) -> SpecAugmentConfig:
    """The SLU student's SpecAugment settings: off, frequency masks at most ``SLU_FEATURE_MASK_SIZE`` bins wide."""
    return SpecAugmentConfig(**{"enabled": False, "features_mask_size": SLU_FEATURE_MASK_SIZE, **overrides})


def build_augment(config: SpecAugmentConfig, input_kind: str) -> BatchSpecAugment | None:
    """The callable that masks a training batch, or None when SpecAugment is off.

    Raises ``ValueError`` for a front end that reads the waveform (``input_kind`` "waveform"): there are no features.
    """
    if not config.enabled:
        return None
    if input_kind != "features":
        raise ValueError("specaugment masks log-mel features; the sincnet front end reads the waveform (use logmel)")
    return BatchSpecAugment(config)


def augment_batch(batch: dict, augment: BatchSpecAugment | None) -> dict:
    """``batch`` with its ``features`` masked (a new dict; padding frames untouched), or ``batch`` itself."""
    if augment is None:
        return batch
    return {**batch, "features": augment(batch["features"], batch["lengths"])}
