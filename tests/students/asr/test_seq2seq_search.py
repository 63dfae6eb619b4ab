"""Batched beam search: exhaustive with a wide beam, greedy with beam 1, banned tokens, batch independence."""

from __future__ import annotations

import itertools
import math
import zlib

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.students.asr.seq2seq import SUPERVISED_HEAD, Seq2SeqASR, Seq2SeqConfig, beam_search

SOS, EOS, VOCAB = 1, 2, 5


class PrefixModel(torch.nn.Module):
    """A stand-in decoder whose next-token distribution is a fixed pseudo-random function of (utterance, prefix).

    ``decode`` returns, at every position, the utterance id and the whole prefix so far (padded with -1), which
    ``classify`` hashes into logits; ``encode`` gives each utterance as many encoder frames as its length (the
    search's length limit).
    """

    def __init__(self, sharpness: float = 3.0) -> None:
        super().__init__()
        self.config = Seq2SeqConfig(vocab_size=VOCAB, sos_id=SOS, eos_id=EOS)
        self.sharpness = sharpness

    def encode(self, features, lengths):
        memory = features[:, :, :1]  # (B, T, 1): the utterance id in every frame
        return memory, torch.arange(features.shape[1])[None, :] < lengths[:, None]

    def decode(self, memory, memory_mask, tokens, token_mask=None):
        utterance = memory[:, :1, :].expand(-1, tokens.shape[1], 1)
        length = tokens.shape[1]
        padded = [torch.cat([tokens[:, : i + 1], tokens.new_full((tokens.shape[0], length - i - 1), -1)], 1)
                  for i in range(length)]  # fmt: skip
        prefixes = torch.stack(padded, 1)
        return torch.cat([utterance, prefixes.float()], dim=-1)

    def classify(self, states, names=None):
        rows = [self.logits(int(s[0]), tuple(int(t) for t in s[1:] if t >= 0)) for s in states]
        return {SUPERVISED_HEAD: torch.stack(rows)}

    def logits(self, utterance: int, prefix: tuple[int, ...]) -> torch.Tensor:
        seed = zlib.crc32(repr((utterance, prefix)).encode())
        return self.sharpness * torch.randn(VOCAB, generator=torch.Generator().manual_seed(seed))


def batch_of(frames: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    features = torch.zeros(len(frames), max(frames), 1)
    for b in range(len(frames)):
        features[b] = b + 1  # the utterance id the stand-in reads
    return features, torch.tensor(frames)


def exhaustive_best(model: PrefixModel, utterance: int, limit: int, alpha: float, banned=()) -> tuple[tuple, float]:
    """The best length-normalized complete hypothesis over every token sequence of at most ``limit`` tokens."""
    allowed = [t for t in range(VOCAB) if t != EOS and t not in banned]
    best, best_score = None, -math.inf
    for n in range(limit):  # n tokens, then </s>
        for body in itertools.product(allowed, repeat=n):
            prefix, score = (SOS,), 0.0
            for token in (*body, EOS):
                log_probs = torch.log_softmax(model.logits(utterance, prefix), -1)
                log_probs[list(banned)] = -math.inf
                score += float(log_probs[token])
                prefix += (token,)
            normalized = score / (n + 1) ** alpha
            if normalized > best_score:
                best, best_score = body, normalized
    return best, best_score


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=3), st.sampled_from([0.0, 1.0]))
def test_a_beam_wider_than_every_prefix_finds_the_exhaustive_best(limits, alpha):
    model = PrefixModel()
    features, lengths = batch_of(limits)
    found = beam_search(model, features, lengths, beam=VOCAB**4, length_penalty=alpha, max_tokens=10)
    for b, limit in enumerate(limits):
        tokens, normalized = exhaustive_best(model, b + 1, limit, alpha)
        assert found[b].tokens == tokens
        assert found[b].normalized == pytest.approx(normalized, abs=1e-5)


def greedy(model: PrefixModel, utterance: int, limit: int) -> tuple[int, ...]:
    prefix = (SOS,)
    for _ in range(limit - 1):
        token = int(model.logits(utterance, prefix).argmax())
        if token == EOS:
            break
        prefix += (token,)
    return prefix[1:]


def test_beam_one_is_greedy_and_batches_are_independent():
    model = PrefixModel(sharpness=1.0)
    features, lengths = batch_of([6, 3, 9])
    together = beam_search(model, features, lengths, beam=1, max_tokens=20)
    assert [h.tokens for h in together] == [greedy(model, b + 1, n) for b, n in enumerate([6, 3, 9])]
    # Utterances do not interact: each is decoded alone as in the batch.
    batched = beam_search(model, features, lengths, beam=3, max_tokens=20)
    for b in range(3):
        assert beam_search(model, features[b : b + 1], lengths[b : b + 1], beam=3, max_tokens=20) == [batched[b]]


def test_banned_tokens_never_appear_and_the_limit_ends_hypotheses():
    model = PrefixModel()
    features, lengths = batch_of([4, 4])
    for hypothesis in beam_search(model, features, lengths, beam=4, max_tokens=3, banned=[0, 3]):
        assert not {0, 3} & set(hypothesis.tokens)
        assert len(hypothesis.tokens) <= 2  # max_tokens 3 outputs, the last of them </s>
    tokens, _ = exhaustive_best(model, 1, 3, 1.0, banned=(0, 3))
    assert beam_search(model, features, lengths, beam=25, max_tokens=3, banned=[0, 3])[0].tokens == tokens


def test_the_search_runs_on_the_real_model_and_restores_training_mode():
    torch.manual_seed(0)
    model = Seq2SeqASR(Seq2SeqConfig(vocab_size=8, num_mel_bins=16, conv_channels=4, d_model=16, num_heads=2,
                                     ff_dim=16, encoder_layers=1, decoder_layers=1)).train()  # fmt: skip
    hypotheses = beam_search(model, torch.randn(2, 40, 16), torch.tensor([40, 20]), beam=3, max_tokens=5)
    assert model.training and len(hypotheses) == 2
    assert all(len(h.tokens) < 5 and h.normalized == pytest.approx(h.score / (len(h.tokens) + 1)) for h in hypotheses)
    with pytest.raises(ValueError, match="beam must be an integer >= 1"):
        beam_search(model, torch.randn(1, 40, 16), torch.tensor([40]), beam=0)


def test_joint_ctc_decoding_scores_each_hypothesis_by_both_models():
    torch.manual_seed(0)
    model = Seq2SeqASR(Seq2SeqConfig(vocab_size=8, num_mel_bins=16, conv_channels=4, d_model=16, num_heads=2,
                                     ff_dim=16, encoder_layers=1, decoder_layers=1, ctc_head=True)).eval()  # fmt: skip
    features, lengths = torch.randn(2, 60, 16), torch.tensor([60, 44])
    weight, banned = 0.4, [0, SOS]  # CTC's blank (id 0) is never an output
    found = beam_search(model, features, lengths, beam=3, max_tokens=6, banned=banned, ctc_weight=weight)
    assert any(h.tokens for h in found)
    with torch.no_grad():
        memory, mask = model.encode(features, lengths)
        for b, hypothesis in enumerate(found):
            y = list(hypothesis.tokens)
            inputs, targets = torch.tensor([[SOS, *y]]), torch.tensor([[*y, EOS]])
            logits = model(features[b : b + 1, : lengths[b]], lengths[b : b + 1], inputs)[SUPERVISED_HEAD][0]
            attention = float(torch.log_softmax(logits, -1).gather(1, targets.T).sum())
            ctc_log_probs = torch.log_softmax(model.ctc(memory[b : b + 1, : int(mask[b].sum())]), -1).transpose(0, 1)
            ctc = -float(torch.nn.functional.ctc_loss(ctc_log_probs, torch.tensor([y]), mask[b : b + 1].sum(1),
                                                      torch.tensor([len(y)]), blank=0, reduction="sum"))  # fmt: skip
            assert hypothesis.score == pytest.approx((1 - weight) * attention + weight * ctc, rel=1e-4, abs=1e-4)
    with pytest.raises(ValueError, match="joint CTC decoding needs a model trained with its CTC layer"):
        beam_search(Seq2SeqASR(Seq2SeqConfig(vocab_size=8, num_mel_bins=16, conv_channels=4, d_model=16, num_heads=2,
                                             ff_dim=16, encoder_layers=1, decoder_layers=1)),
                    features, lengths, ctc_weight=0.3)  # fmt: skip
    with pytest.raises(ValueError, match=r"decode ctc_weight must lie in \[0, 1\)"):
        beam_search(model, features, lengths, ctc_weight=1.0)
