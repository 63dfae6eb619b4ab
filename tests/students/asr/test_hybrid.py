"""The hybrid AM: 10 ms frames in and out, padding-invariant outputs, named heads, save/load round trip."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.students.asr import HybridAcousticModel, HybridModelConfig

TINY = HybridModelConfig(d_model=16, num_layers=2, num_heads=2, ff_dim=32, conv_channels=3, dropout=0.0)
HEADS = {"senone": 7, "aux/phone": 5, "aux/subword": 9}


def make_model(seed: int = 0) -> HybridAcousticModel:
    torch.manual_seed(seed)
    return HybridAcousticModel(TINY, HEADS).eval()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=4), st.integers(0, 2**16))
def test_every_frame_gets_a_prediction_and_padding_changes_nothing(lengths, seed):
    model = make_model()
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(len(lengths), max(lengths), 80, generator=generator) * 3 + 5
    logits, mask = model(features, torch.tensor(lengths))
    assert mask.sum().item() == sum(lengths)  # stride 1 in time: one output per 10 ms input frame
    for name, size in HEADS.items():
        assert logits[name].shape == (len(lengths), max(lengths), size)
    for i, length in enumerate(lengths):
        alone, _ = model(features[i : i + 1, :length], torch.tensor([length]))
        for name in HEADS:
            assert torch.allclose(alone[name][0], logits[name][i, :length], atol=1e-4), (name, i)


def test_feature_statistics_normalize_the_input():
    model = make_model()
    features = torch.randn(2, 12, 80)
    lengths = torch.tensor([12, 9])
    before, _ = model(features, lengths)
    model.set_feature_statistics(torch.full((80,), 2.0), torch.full((80,), 4.0))
    shifted, _ = model(features * 4 + 2, lengths)
    assert torch.allclose(before["senone"], shifted["senone"], atol=1e-4)
    with pytest.raises(ValueError, match="must be > 0"):
        model.set_feature_statistics(torch.zeros(80), torch.zeros(80))


def test_save_and_load_give_the_same_outputs_and_metadata(tmp_path):
    model = make_model()
    model.set_feature_statistics(torch.linspace(-1, 1, 80), torch.linspace(0.5, 2, 80))
    model.save_pretrained(tmp_path, extra={"units_key": "abc"})
    loaded, metadata = HybridAcousticModel.from_pretrained(tmp_path)
    assert metadata["units_key"] == "abc" and loaded.head_sizes == HEADS and not loaded.training
    features, lengths = torch.randn(2, 10, 80), torch.tensor([10, 4])
    assert torch.equal(model(features, lengths)[0]["aux/subword"], loaded(features, lengths)[0]["aux/subword"])


def test_bad_configurations_and_inputs_are_named():
    with pytest.raises(ValueError, match="needs a 'senone' head"):
        HybridAcousticModel(TINY, {"aux/phone": 5})
    with pytest.raises(ValueError, match="head 'phone'"):
        HybridAcousticModel(TINY, {"senone": 5, "phone": 5})
    with pytest.raises(ValueError, match="conv_kernel must be odd"):
        HybridAcousticModel(HybridModelConfig(conv_kernel=2), {"senone": 5})
    with pytest.raises(ValueError, match=r"features must be \(B, T, 80\)"):
        make_model()(torch.randn(1, 5, 40), torch.tensor([5]))
    with pytest.raises(ValueError, match="lengths must lie in"):
        make_model()(torch.randn(1, 5, 80), torch.tensor([6]))
