"""SpecAugment for paper 000's SLU student: settings, where it is allowed, what it masks, runs that use it."""

from __future__ import annotations

import dataclasses
import random

import pytest
import torch
from omegaconf import OmegaConf

from crossdistill.students.asr.specaugment import BatchSpecAugment, SpecAugmentConfig
from crossdistill.train.config import load_train_config, run_identity
from crossdistill.train.pretrain_options import PretrainOptions
from crossdistill.train.specaugment import SLU_FEATURE_MASK_SIZE, augment_batch, build_augment, slu_specaugment_config

REQUIRED = ["corpus=/c", "acoustic=/a", "out=/o"]


@pytest.fixture
def masked_utterances(monkeypatch) -> list[int]:
    """The batch size of every call to SpecAugment, appended as training makes them."""
    calls = []
    original = BatchSpecAugment.__call__

    def counting(self, features, lengths):
        calls.append(features.shape[0])
        return original(self, features, lengths)

    monkeypatch.setattr(BatchSpecAugment, "__call__", counting)
    return calls


def test_slu_settings_are_lhotses_with_a_narrower_frequency_mask():
    config = slu_specaugment_config()
    assert not config.enabled and config.features_mask_size == SLU_FEATURE_MASK_SIZE == 13
    lhotse = dataclasses.asdict(SpecAugmentConfig())
    assert {k: v for k, v in dataclasses.asdict(config).items() if k not in ("enabled", "features_mask_size")} == {
        k: v for k, v in lhotse.items() if k not in ("enabled", "features_mask_size")
    }


def test_masks_land_on_real_frames_only_and_the_batch_is_copied():
    assert build_augment(slu_specaugment_config(), "features") is None
    with pytest.raises(ValueError, match="sincnet front end reads the waveform"):
        build_augment(slu_specaugment_config(enabled=True), "waveform")
    augment = build_augment(slu_specaugment_config(enabled=True, p=1.0), "features")
    assert isinstance(augment, BatchSpecAugment)
    torch.manual_seed(0)
    random.seed(0)
    features = torch.randn(2, 200, 40) + 5.0
    batch = {"features": features, "lengths": torch.tensor([200, 150]), "intent": torch.tensor([1, 2])}
    masked = augment_batch(batch, augment)
    assert masked is not batch and masked["intent"] is batch["intent"] and torch.equal(batch["features"], features)
    changed = masked["features"] != features
    assert not changed[1, 150:].any()  # padding
    for i, length in enumerate((200, 150)):
        assert changed[i, :length].all(dim=0).sum() >= 1  # at least one whole mel bin masked
        assert changed[i, :length].float().mean() < 0.7
    assert augment_batch(batch, None) is batch


def test_train_config_allows_it_only_where_features_train():
    config = load_train_config(None, [*REQUIRED, "unfreeze=word", "specaugment.enabled=true"])
    assert config.specaugment.enabled and config.specaugment.features_mask_size == 13
    with pytest.raises(ValueError, match=r"specaugment.enabled needs unfreeze=word or all"):
        load_train_config(None, [*REQUIRED, "specaugment.enabled=true"])
    with pytest.raises(ValueError, match=r"specaugment.features_mask_size must be >= 1"):
        load_train_config(None, [*REQUIRED, "unfreeze=all", "specaugment.features_mask_size=0"])
    with pytest.raises(ValueError, match="mask_size"):
        load_train_config(None, [*REQUIRED, "specaugment.mask_size=3"])


def test_a_run_from_before_the_option_keeps_its_identity():
    config = load_train_config(None, REQUIRED)
    old = OmegaConf.to_container(config)
    del old["specaugment"]  # a config.yaml written before the option existed
    assert run_identity(OmegaConf.create(old)) == run_identity(config)
    assert "specaugment" not in run_identity(config)
    on = load_train_config(None, [*REQUIRED, "unfreeze=word", "specaugment.enabled=true"])
    assert run_identity(on)["specaugment"]["enabled"] is True


def test_pretraining_option_is_checked_and_counted_only_when_on():
    base = {"corpus": "/c", "out": "/o", "frontend": "logmel"}
    assert "specaugment" not in PretrainOptions(**base).identity()
    assert PretrainOptions(**base, specaugment=True).identity()["specaugment"] is True
    with pytest.raises(ValueError, match="--specaugment masks log-mel features; the sincnet front end"):
        PretrainOptions(**{**base, "frontend": "sincnet"}, specaugment=True)


def test_intent_training_masks_every_training_utterance_once_per_epoch(pipeline, tmp_path, masked_utterances):
    from pathlib import Path

    from crossdistill.data.corpus import load_corpus
    from crossdistill.train.run import train_intent

    vanilla = Path(__file__).parents[2] / "configs" / "table1" / "vanilla.yaml"

    def train(name: str, **extra) -> dict:
        overrides = pipeline.overrides(tmp_path / name, epochs=2, unfreeze="word", **extra)
        return train_intent(load_train_config(vanilla, overrides))

    augmented = train("augmented", **{"specaugment.enabled": "true"})
    assert sum(masked_utterances) == 2 * len(load_corpus(pipeline.corpus).splits["train"])  # never valid or test
    again = train("again", **{"specaugment.enabled": "true"})
    plain = train("plain")
    losses = {name: [r["train/loss"] for r in m["history"]] for name, m in (("a", augmented), ("b", again),
                                                                            ("c", plain))}  # fmt: skip
    assert losses["a"] == losses["b"]  # the same masks for the same seed
    assert losses["a"] != losses["c"]


def test_pretraining_masks_the_training_batches(tiny_corpus, tmp_path, masked_utterances):
    from crossdistill.train.pretrain import pretrain_acoustic

    threads = torch.get_num_threads()
    settings = {"corpus": str(tiny_corpus), "preset": "tiny", "frontend": "logmel", "epochs": 1, "batch_size": 4,
                "max_utterances": 8, "progress": False, "threads": 1, "accelerator": "cpu"}  # fmt: skip
    try:
        augmented = pretrain_acoustic(PretrainOptions(out=str(tmp_path / "a"), specaugment=True, **settings))
        assert sum(masked_utterances) == augmented["utterances"]["train"] == 8
        plain = pretrain_acoustic(PretrainOptions(out=str(tmp_path / "b"), **settings))
    finally:
        torch.set_num_threads(threads)
    assert sum(masked_utterances) == 8  # the plain run masks nothing
    assert augmented["valid"] != plain["valid"]
