"""The seq2seq recipe's objectives on a hand-made batch: LST is exactly paper 001 eq. 3's interpolated target, the
multi-task loss exactly eq. 4, padding is never read, and CTC joins as (1 - w) * objective + w * CTC."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crossdistill.students.asr.seq2seq import KD_HEAD, SUPERVISED_HEAD
from crossdistill.train.asr.seq2seq_config import ObjectiveConfig
from crossdistill.train.asr.seq2seq_module import build_objective, compute_step, noam_factor

V = 5


class FixedOutputs(torch.nn.Module):
    """Returns hand-made logits for every head, whatever the batch (the objectives only read outputs)."""

    def __init__(self, outputs: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.outputs, self.ctc, self.frame = outputs, None, None

    def forward(self, features, lengths, tokens, token_mask=None):
        return dict(self.outputs)


def hand_made_batch(seed: int = 0):
    """Two utterances of 3 and 2 target tokens (``y + </s>``); position 2 of the second is padding, filled with junk."""
    rng = np.random.default_rng(seed)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    targets = torch.tensor([[3, 4, 2], [0, 2, 0]])
    teacher = rng.dirichlet(np.ones(V), size=(2, 3))
    teacher[0, 1, [0, 1]] = 0.0  # a top-k row: exact zeros stay zeros at every temperature
    teacher[0, 1] /= teacher[0, 1].sum()
    teacher[1, 2] = 0.0  # padding
    batch = {"features": torch.zeros(2, 8, 4), "lengths": torch.tensor([8, 8]), "inputs": torch.zeros(2, 3).long(),
             "targets": targets, "token_mask": mask, "teacher": torch.tensor(teacher, dtype=torch.float64)}  # fmt: skip
    logits = {name: torch.tensor(rng.normal(size=(2, 3, V)) * 2, dtype=torch.float64, requires_grad=True)
              for name in (SUPERVISED_HEAD, KD_HEAD)}  # fmt: skip
    return batch, logits


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def tempered(p: np.ndarray, temperature: float) -> np.ndarray:
    """p^(1/T) / Z: softmax(LM logits / T) from the LM's probabilities (zeros stay zeros)."""
    powered = np.where(p > 0, p, 0.0) ** (1.0 / temperature)
    total = powered.sum(-1, keepdims=True)
    return powered / np.where(total > 0, total, 1.0)  # an all-zero (padding) row stays zero


def per_utterance_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, values, 0.0).sum(1) / mask.sum(1)


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0])
def test_lst_trains_the_supervised_head_on_eq3s_interpolated_target(weight):
    batch, logits = hand_made_batch()
    objective = build_objective(ObjectiveConfig(name="lst", weight=weight))  # T = 5.0, the paper's
    result = compute_step(FixedOutputs(logits), objective, batch)
    z, mask = logits[SUPERVISED_HEAD].detach().numpy(), batch["token_mask"].numpy()
    one_hot = np.eye(V)[batch["targets"].numpy()]
    target = (1 - weight) * one_hot + weight * tempered(batch["teacher"].numpy(), 5.0)  # paper 001 eq. 3
    expected = per_utterance_mean(-(target * log_softmax(z)).sum(-1), mask).mean()
    assert float(result.total.detach()) == pytest.approx(expected, rel=1e-12)
    # The target itself, read off the gradient: d loss / d z = (softmax(z) - target) / (tokens_b * B) on real positions.
    result.total.backward()
    scale = mask.sum(1, keepdims=True)[..., None] * 2
    recovered = np.exp(log_softmax(z)) - logits[SUPERVISED_HEAD].grad.numpy() * scale
    assert np.allclose(recovered[mask], target[mask], atol=1e-12)
    assert np.all(logits[SUPERVISED_HEAD].grad.numpy()[~mask] == 0)  # padding is never read
    assert np.all(logits[KD_HEAD].grad is None or logits[KD_HEAD].grad.numpy() == 0)  # LST has no KD head
    plain = per_utterance_mean(-(one_hot * log_softmax(z)).sum(-1), mask).mean()
    assert float(result.supervised) == pytest.approx(plain, rel=1e-12)


@pytest.mark.parametrize(("weight", "temperature"), [(0.5, 1.0), (2.0, 2.0)])
def test_the_multitask_loss_is_eq4_on_two_output_layers(weight, temperature):
    batch, logits = hand_made_batch(seed=1)
    objective = build_objective(ObjectiveConfig(name="multitask", weight=weight, temperature=temperature))
    result = compute_step(FixedOutputs(logits), objective, batch)
    z, a = logits[SUPERVISED_HEAD].detach().numpy(), logits[KD_HEAD].detach().numpy()
    mask, targets = batch["token_mask"].numpy(), batch["targets"].numpy()
    ce = -np.take_along_axis(log_softmax(z), targets[..., None], -1)[..., 0]
    q = tempered(batch["teacher"].numpy(), temperature)
    log_q = np.log(np.where(q > 0, q, 1.0))  # 0 log 0 = 0
    kl = (q * (log_q - log_softmax(a / temperature))).sum(-1)
    # Paper 001 eq. 4 (additive): CE(y, softmax(z)) + lambda * T^2 * KL(softmax(LM / T) || softmax(a / T))
    expected = per_utterance_mean(ce, mask).mean() + weight * temperature**2 * per_utterance_mean(kl, mask).mean()
    assert float(result.total.detach()) == pytest.approx(expected, rel=1e-12)
    assert float(result.supervised) == pytest.approx(per_utterance_mean(ce, mask).mean(), rel=1e-12)
    assert float(result.kd) == pytest.approx(temperature**2 * per_utterance_mean(kl, mask).mean(), rel=1e-12)
    result.total.backward()
    for head in (SUPERVISED_HEAD, KD_HEAD):  # each layer gets its own task's gradient, none from padding
        assert np.all(logits[head].grad.numpy()[~mask] == 0) and np.any(logits[head].grad.numpy()[mask] != 0)


def test_supervised_is_plain_cross_entropy_and_ignores_the_teacher():
    batch, logits = hand_made_batch(seed=2)
    result = compute_step(FixedOutputs(logits), build_objective(ObjectiveConfig()), batch)
    z, mask, targets = logits[SUPERVISED_HEAD].detach().numpy(), batch["token_mask"].numpy(), batch["targets"].numpy()
    ce = -np.take_along_axis(log_softmax(z), targets[..., None], -1)[..., 0]
    assert float(result.total.detach()) == pytest.approx(per_utterance_mean(ce, mask).mean(), rel=1e-12)
    without_teacher = {key: value for key, value in batch.items() if key != "teacher"}
    assert float(
        compute_step(FixedOutputs(logits), build_objective(ObjectiveConfig()), without_teacher).total.detach()
    ) == (float(result.total.detach()))
    # Token accuracy counts real positions only.
    predicted = z.argmax(-1)
    assert result.correct == int(((predicted == targets) & mask).sum()) and result.tokens == 5


def test_junk_in_padded_positions_changes_nothing():
    batch, logits = hand_made_batch(seed=3)
    objective = build_objective(ObjectiveConfig(name="multitask", weight=0.7))
    reference = float(compute_step(FixedOutputs(logits), objective, batch).total.detach())
    junk = {name: value.detach().clone() for name, value in logits.items()}
    for value in junk.values():
        value[1, 2] = 1e3
    batch["teacher"] = batch["teacher"].clone()
    batch["teacher"][1, 2] = 7.0  # not even a distribution
    batch["targets"] = batch["targets"].clone()
    batch["targets"][1, 2] = 4
    assert float(compute_step(FixedOutputs(junk), objective, batch).total.detach()) == pytest.approx(
        reference, rel=1e-12
    )
    lst = build_objective(ObjectiveConfig(name="lst", weight=0.4, temperature=0.5))
    assert np.isfinite(float(compute_step(FixedOutputs(junk), lst, batch).total.detach()))


def test_noam_schedule_warms_up_then_decays():
    assert [noam_factor(s, 4) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert noam_factor(15, 4) == pytest.approx(0.5) and noam_factor(0, 0) == 1.0


def test_the_frame_loss_is_the_mean_over_each_utterances_frames_then_over_the_batch():
    from crossdistill.students.asr.seq2seq.model import FRAME_PADDING
    from crossdistill.train.asr.seq2seq_module import frame_loss

    logits = torch.randn(2, 4, 3)
    targets = torch.tensor([[0, 2, 1, 1], [2, 0, FRAME_PADDING, FRAME_PADDING]])
    log_p = logits.log_softmax(dim=-1)
    first = -(log_p[0, 0, 0] + log_p[0, 1, 2] + log_p[0, 2, 1] + log_p[0, 3, 1]) / 4
    second = -(log_p[1, 0, 2] + log_p[1, 1, 0]) / 2
    assert float(frame_loss(logits, targets)) == pytest.approx(float((first + second) / 2), rel=1e-6)
