"""SincNet and log-mel front ends: shapes, lengths, padding invariance, learned filters, input checks."""

import numpy as np
import pytest
import torch

from crossdistill.students.frontends import (
    LogMelConfig,
    LogMelFrontend,
    SincConv,
    SincNetConfig,
    SincNetFrontend,
    build_frontend,
)

TINY_SINC = SincNetConfig(n_filters=8, filter_length=101, conv_channels=[8], conv_pools=[1])


def test_sincnet_lugosch_sizes_give_10ms_frames_and_lengths():
    frontend = SincNetFrontend(SincNetConfig()).eval()
    assert frontend.frame_shift_s == pytest.approx(0.01)
    lengths = torch.tensor([16000, 12345, 800])
    frames, out_lengths = frontend(torch.randn(3, 16000), lengths)
    # stride 80 with 200 samples of padding: floor((S - 1) / 80) + 1 frames, then ceil(/2) by the pool
    expected = [-(-((s - 1) // 80 + 1) // 2) for s in lengths.tolist()]
    assert out_lengths.tolist() == expected
    assert frames.shape == (3, max(expected), 60)
    assert frontend.output_lengths(lengths).tolist() == expected
    assert (frames[1, expected[1] :] == 0).all() and (frames[2, expected[2] :] == 0).all()


@pytest.mark.parametrize("kind", ["sincnet", "logmel"])
def test_frontends_do_not_depend_on_padding(kind):
    torch.manual_seed(0)
    frontend = build_frontend(kind, TINY_SINC, LogMelConfig(conv_channels=[8], conv_pools=[2])).eval()
    if kind == "sincnet":
        short, long = torch.randn(1, 3000), torch.randn(1, 8000)
        batch = torch.cat([long, torch.nn.functional.pad(short, (0, 5000), value=0.7)])  # non-zero padding
    else:
        short, long = torch.randn(1, 31, 40), torch.randn(1, 80, 40)
        batch = torch.cat([long, torch.nn.functional.pad(short, (0, 0, 0, 49), value=0.7)])
    alone, alone_len = frontend(short, torch.tensor([short.shape[1]]))
    together, together_len = frontend(batch, torch.tensor([long.shape[1], short.shape[1]]))
    assert together_len[1] == alone_len[0]
    torch.testing.assert_close(together[1, : alone_len[0]], alone[0], atol=1e-5, rtol=1e-5)


def test_sinc_filters_pass_their_initial_band():
    sinc = SincConv(n_filters=20, filter_length=401, sample_rate=16000, stride=80)
    filters = sinc.filters().detach().squeeze(1).numpy()
    low = np.abs(sinc.low.detach().numpy()) * 16000 + SincConv.MIN_LOW_HZ
    high = low + np.abs(sinc.band.detach().numpy()) * 16000 + SincConv.MIN_BAND_HZ
    assert np.all(np.diff(low) > 0), "mel initialization: cut-offs increase with the filter index"
    response = np.abs(np.fft.rfft(filters, n=8192, axis=1))
    freqs = np.fft.rfftfreq(8192, d=1 / 16000)
    for i in range(1, 20):
        in_band = (freqs >= low[i]) & (freqs <= high[i])
        far = (freqs < low[i] / 2) | (freqs > high[i] * 2)
        assert response[i, in_band].mean() > 5 * response[i, far].mean(), f"filter {i} is not band-pass"


def test_sinc_cutoffs_are_learned():
    frontend = SincNetFrontend(TINY_SINC)
    frames, _ = frontend(torch.randn(2, 4000), torch.tensor([4000, 3000]))
    frames.sum().backward()
    assert frontend.sinc.low.grad is not None and frontend.sinc.low.grad.abs().sum() > 0
    assert frontend.sinc.band.grad.abs().sum() > 0


def test_logmel_normalizes_each_utterance():
    frontend = LogMelFrontend(LogMelConfig(n_mels=40, conv_channels=[4], conv_pools=[1])).eval()
    x = torch.randn(1, 50, 40)
    a, _ = frontend(x, torch.tensor([50]))
    b, _ = frontend(x * 3.0 + 10.0, torch.tensor([50]))  # gain and offset vanish after CMVN
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_bad_inputs_give_clear_errors():
    sinc = SincNetFrontend(TINY_SINC)
    with pytest.raises(ValueError, match=r"\(B, S\)"):
        sinc(torch.randn(2, 1, 100), torch.tensor([100, 100]))
    with pytest.raises(ValueError, match="lengths must lie"):
        sinc(torch.randn(2, 100), torch.tensor([100, 101]))
    logmel = LogMelFrontend(LogMelConfig(n_mels=40))
    with pytest.raises(ValueError, match=r"\(B, T, 40\)"):
        logmel(torch.randn(2, 10, 80), torch.tensor([10, 10]))
    with pytest.raises(ValueError, match="unknown front end"):
        build_frontend("mfcc", TINY_SINC, LogMelConfig())
    with pytest.raises(ValueError, match="odd"):
        SincConv(4, 100, 16000, 80)
