"""Acoustic module: rates, lengths, padding invariance, gradient flow, determinism, save/load."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.students import AcousticModule, acoustic_preset


def make_module(frontend="sincnet", seed=0, **changes):
    torch.manual_seed(seed)
    config = acoustic_preset("tiny", frontend=frontend, n_phonemes=7, n_words=5)
    for key, value in changes.items():
        setattr(config, key, value)
    return AcousticModule(config)


@pytest.mark.parametrize("preset", ["tiny", "default", "lugosch"])
def test_presets_keep_lugosch_frame_rates(preset):
    module = AcousticModule(acoustic_preset(preset, n_phonemes=7, n_words=5))
    assert module.phoneme_frame_shift_s == pytest.approx(0.04)
    assert module.word_frame_shift_s == pytest.approx(0.16)


def test_lugosch_preset_matches_released_configuration():
    config = acoustic_preset("lugosch", n_phonemes=42, n_words=10000)
    assert (config.sincnet.n_filters, config.sincnet.filter_length, config.sincnet.stride) == (80, 401, 80)
    assert config.sincnet.pool == 2 and config.sincnet.conv_channels == [60, 60]
    assert config.phoneme_hidden == [128, 128] and config.word_hidden == [128, 128]
    assert config.phoneme_downsample == [2, 2] and config.word_downsample == [2, 2]
    assert config.downsample == "avg" and config.dropout == 0.5 and config.bidirectional


@pytest.mark.parametrize("frontend", ["sincnet", "logmel"])
def test_output_shapes_and_lengths(frontend):
    module = make_module(frontend).eval()
    if frontend == "sincnet":
        inputs, lengths = torch.randn(3, 16000), torch.tensor([16000, 9000, 1000])
    else:
        inputs, lengths = torch.randn(3, 100, 40), torch.tensor([100, 57, 9])
    out = module(inputs, lengths)
    phoneme_lengths, word_lengths = module.output_lengths(lengths)
    assert out.phoneme_lengths.tolist() == phoneme_lengths.tolist()
    assert out.word_lengths.tolist() == word_lengths.tolist()
    assert out.phoneme_logits.shape == (3, int(phoneme_lengths.max()), 7)
    assert out.word_logits.shape == (3, int(word_lengths.max()), 5)
    assert out.phoneme_hidden.shape[-1] == 16 and out.word_hidden.shape[-1] == 16  # 2 directions x 8
    # one second of audio: 100 frames of 10 ms -> 25 phoneme frames -> 7 word frames (ceil at each step)
    assert phoneme_lengths[0] == 25 and word_lengths[0] == 7
    assert (out.word_hidden[2, word_lengths[2] :] == 0).all()


@settings(max_examples=6, deadline=None)
@given(
    short=st.integers(400, 4000),
    extra=st.integers(1, 3000),
    method=st.sampled_from(["avg", "max", "drop"]),
)
def test_utterance_outputs_do_not_depend_on_batch_padding(short, extra, method):
    module = make_module(downsample=method).eval()
    generator = torch.Generator().manual_seed(short)
    a = torch.randn(1, short, generator=generator)
    b = torch.randn(1, short + extra, generator=generator)
    batch = torch.cat([torch.nn.functional.pad(a, (0, extra)), b])
    alone = module(a, torch.tensor([short]))
    together = module(batch, torch.tensor([short, short + extra]))
    n = int(alone.word_lengths[0])
    assert int(together.word_lengths[0]) == n
    torch.testing.assert_close(together.word_logits[0, :n], alone.word_logits[0], atol=1e-5, rtol=1e-4)
    m = int(alone.phoneme_lengths[0])
    torch.testing.assert_close(together.phoneme_logits[0, :m], alone.phoneme_logits[0], atol=1e-5, rtol=1e-4)


def test_gradients_reach_the_front_end_from_both_classifiers():
    module = make_module()
    out = module(torch.randn(2, 8000), torch.tensor([8000, 5000]))
    out.word_logits.sum().backward()
    assert module.frontend.sinc.low.grad.abs().sum() > 0
    assert module.phoneme_classifier.weight.grad is None  # word loss does not touch the phoneme classifier
    module.zero_grad()
    out = module(torch.randn(2, 8000), torch.tensor([8000, 5000]))
    out.phoneme_logits.sum().backward()
    assert module.frontend.sinc.band.grad.abs().sum() > 0
    assert all(p.grad is None for p in module.word_layers.parameters())


def test_same_seed_same_module_and_outputs():
    x, lengths = torch.randn(2, 4000), torch.tensor([4000, 3000])
    a, b, c = make_module(seed=3).eval(), make_module(seed=3).eval(), make_module(seed=4).eval()
    torch.testing.assert_close(a(x, lengths).word_logits, b(x, lengths).word_logits, atol=0, rtol=0)
    assert not torch.allclose(a(x, lengths).word_logits, c(x, lengths).word_logits)


def test_save_load_round_trip(tmp_path):
    module = make_module("logmel").eval()
    module.save_pretrained(tmp_path / "acoustic", extra={"vocab.json": {"words": ["a"]}})
    assert (tmp_path / "acoustic" / "model.safetensors").is_file()
    assert (tmp_path / "acoustic" / "vocab.json").is_file()
    loaded = AcousticModule.from_pretrained(tmp_path / "acoustic").eval()
    assert loaded.config == module.config
    x, lengths = torch.randn(2, 60, 40), torch.tensor([60, 33])
    torch.testing.assert_close(loaded(x, lengths).word_logits, module(x, lengths).word_logits, atol=0, rtol=0)


def test_invalid_configs_are_rejected():
    with pytest.raises(ValueError, match="one factor per"):
        make_module(phoneme_downsample=[2])
    with pytest.raises(ValueError, match="downsample must be one of"):
        make_module(downsample="median")
    with pytest.raises(ValueError, match="unknown student preset"):
        acoustic_preset("huge")
