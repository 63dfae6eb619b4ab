"""The seq2seq model: subsampled lengths, padding invariance, causality, heads, save/load."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.students.asr.seq2seq import KD_HEAD, SUPERVISED_HEAD, Seq2SeqASR, Seq2SeqConfig, subsampled_lengths
from crossdistill.students.asr.seq2seq.model import FRAME_HEAD, subsample_frame_labels

TINY = {"vocab_size": 12, "num_mel_bins": 16, "conv_channels": 4, "d_model": 16, "num_heads": 2, "ff_dim": 32,
        "encoder_layers": 1, "decoder_layers": 2}  # fmt: skip


def tiny_model(**extra) -> Seq2SeqASR:
    torch.manual_seed(0)
    return Seq2SeqASR(Seq2SeqConfig(**{**TINY, **extra})).eval()


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=7, max_value=300), st.integers(min_value=0, max_value=20))
def test_subsampled_lengths_are_the_convolutions_output_frames(frames, padding):
    model = tiny_model()
    features = torch.zeros(1, frames + padding, 16)
    out, lengths = model.subsampling(features, torch.tensor([frames]))
    assert int(lengths) == int(subsampled_lengths(torch.tensor(frames)))
    # The padded input gives more conv frames; the real ones are the first `lengths`, and without padding there
    # are exactly that many.
    alone, _ = model.subsampling(torch.zeros(1, frames, 16), torch.tensor([frames]))
    assert alone.shape[1] == int(lengths) <= out.shape[1]


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=7, max_value=60))
def test_a_subsampled_frame_takes_the_label_at_the_centre_of_its_receptive_field(frames):
    labels = subsample_frame_labels(torch.arange(frames))
    assert len(labels) == int(subsampled_lengths(torch.tensor(frames)))
    model = tiny_model()
    features = torch.randn(1, frames, 16, requires_grad=True)
    out, _ = model.subsampling(features, torch.tensor([frames]))
    for t, centre in enumerate(labels.tolist()):
        (grad,) = torch.autograd.grad(out[0, t].sum(), features, retain_graph=True)
        reads = grad[0].abs().sum(dim=1).nonzero().flatten().tolist()
        assert reads == list(range(centre - 3, centre + 4))  # the 7 input frames the output frame reads


def test_padding_never_changes_a_shorter_utterances_outputs():
    model = tiny_model(kd_head=True)
    generator = torch.Generator().manual_seed(1)
    short, long = torch.randn(1, 40, 16, generator=generator), torch.randn(1, 61, 16, generator=generator)
    batch = torch.zeros(2, 61, 16)
    batch[0, :40], batch[1] = short[0], long[0]
    tokens = torch.tensor([[1, 5, 6, 7, 2, 2], [1, 4, 4, 8, 9, 3]])
    token_mask = torch.tensor([[True] * 4 + [False] * 2, [True] * 6])
    together = model(batch, torch.tensor([40, 61]), tokens, token_mask)
    alone = model(short, torch.tensor([40]), tokens[:1, :4])
    for head in (SUPERVISED_HEAD, KD_HEAD):
        assert torch.allclose(together[head][0, :4], alone[head][0], atol=1e-5)


def test_the_decoder_is_causal():
    model = tiny_model()
    features, lengths = torch.randn(1, 30, 16), torch.tensor([30])
    tokens = torch.tensor([[1, 5, 6, 7, 8]])
    changed = tokens.clone()
    changed[0, 3] = 10
    a = model(features, lengths, tokens)[SUPERVISED_HEAD]
    b = model(features, lengths, changed)[SUPERVISED_HEAD]
    assert torch.equal(a[0, :3], b[0, :3])
    assert not torch.allclose(a[0, 3:], b[0, 3:])


def test_heads_follow_the_config_and_ctc_reads_the_encoder():
    plain = tiny_model()
    assert set(plain(torch.randn(1, 20, 16), torch.tensor([20]), torch.tensor([[1, 4]]))) == {SUPERVISED_HEAD}
    joint = tiny_model(kd_head=True, ctc_head=True)
    outputs = joint(torch.randn(2, 20, 16), torch.tensor([20, 11]), torch.tensor([[1, 4], [1, 5]]))
    assert outputs[KD_HEAD].shape == outputs[SUPERVISED_HEAD].shape == (2, 2, 12)
    assert outputs["ctc"].shape == (2, 4, 12)
    assert outputs["encoder_mask"].tolist() == [[True] * 4, [True, True, False, False]]
    framed = tiny_model(frame_classes=5)
    outputs = framed(torch.randn(2, 20, 16), torch.tensor([20, 11]), torch.tensor([[1, 4], [1, 5]]))
    assert outputs[FRAME_HEAD].shape == (2, 4, 5) and "ctc" not in outputs
    assert outputs["encoder_mask"].tolist() == [[True] * 4, [True, True, False, False]]
    with pytest.raises(ValueError, match="frame_classes must be 0"):
        tiny_model(frame_classes=1)


def test_save_and_load_round_trip(tmp_path):
    model = tiny_model(kd_head=True)
    model.set_feature_statistics(torch.full((16,), 0.5), torch.full((16,), 2.0))
    model.save_pretrained(tmp_path, extra={"recipe": "seq2seq", "units_key": "abc"})
    loaded, metadata = Seq2SeqASR.from_pretrained(tmp_path)
    assert metadata == {"recipe": "seq2seq", "units_key": "abc"}
    assert loaded.config == model.config
    features, tokens = torch.randn(1, 25, 16), torch.tensor([[1, 3, 4]])
    assert torch.equal(loaded(features, torch.tensor([25]), tokens)[KD_HEAD],
                       model(features, torch.tensor([25]), tokens)[KD_HEAD])  # fmt: skip


def test_bad_sizes_and_inputs_are_named():
    with pytest.raises(ValueError, match="divisible"):
        Seq2SeqConfig(**{**TINY, "num_heads": 3}).validate()
    with pytest.raises(ValueError, match="eos_id 40 is outside the vocabulary of 12"):
        Seq2SeqConfig(**{**TINY, "eos_id": 40}).validate()
    with pytest.raises(ValueError, match=">= 7 frames"):
        tiny_model()(torch.randn(1, 6, 16), torch.tensor([6]), torch.tensor([[1]]))


def test_scaled_token_embeddings_start_at_unit_variance():
    # The decoder's inputs are embedding * sqrt(d) + positions: at unit variance the token embedding does not dwarf
    # what cross-attention adds to the residual stream (docs/asr.md, Fig. 3 calibration).
    model = Seq2SeqASR(Seq2SeqConfig(**{**TINY, "vocab_size": 400, "d_model": 64}))
    scaled = model.embedding.weight * 64**0.5
    assert float(scaled.std()) == pytest.approx(1.0, abs=0.05)
