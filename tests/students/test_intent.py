"""Intent module: heads, mask-aware max-pooling, validation; utterance accuracy needs every slot."""

from types import SimpleNamespace

import pytest
import torch

from crossdistill.students import IntentConfig, IntentModule, supervised_heads, utterance_correct


def make_intent(**heads):
    torch.manual_seed(0)
    config = IntentConfig(hidden=6, dropout=0.0, heads=heads or {"action": 3, "object": 4, "location": 2})
    return config


def test_heads_and_aux_heads_return_utterance_logits():
    config = make_intent()
    config.aux_heads = {"kd_intent": 9}
    module = IntentModule(5, config)
    out = module(torch.randn(4, 11, 5), torch.tensor([11, 7, 3, 1]))
    assert {name: tuple(t.shape) for name, t in out.items()} == {
        "action": (4, 3),
        "object": (4, 4),
        "location": (4, 2),
        "kd_intent": (4, 9),
    }
    assert module.head_names == ["action", "object", "location", "kd_intent"]
    assert set(dict(module.aux_heads.named_children())) == {"kd_intent"}


def test_max_pool_reads_only_valid_frames():
    module = IntentModule(5, make_intent(intent=31)).eval()
    x = torch.randn(1, 6, 5)
    padded = torch.cat([x, torch.full((1, 10, 5), 50.0)], dim=1)
    alone = module(x, torch.tensor([6]))["intent"]
    batched = module(padded, torch.tensor([6]))["intent"]
    torch.testing.assert_close(alone, batched, atol=1e-6, rtol=1e-5)
    # and it is the max over frames of the frame-wise linear outputs (Lugosch: linear, then pool)
    states = module.encode(x, torch.tensor([6]))
    torch.testing.assert_close(alone, module.heads["intent"](states).amax(dim=1))


def test_gradients_flow_to_input_and_every_head():
    config = make_intent()
    config.aux_heads = {"kd": 3}
    module = IntentModule(5, config)
    x = torch.randn(2, 8, 5, requires_grad=True)
    sum(t.sum() for t in module(x, torch.tensor([8, 4])).values()).backward()
    assert x.grad.abs().sum() > 0 and (x.grad[1, 4:] == 0).all()  # padding gets no gradient
    assert all(layer.weight.grad.abs().sum() > 0 for layer in [*module.heads.values(), module.aux_heads["kd"]])


def test_utterance_correct_needs_all_three_slots():
    logits = {
        "action": torch.tensor([[5.0, 0.0], [5.0, 0.0]]),
        "object": torch.tensor([[0.0, 5.0], [0.0, 5.0]]),
        "location": torch.tensor([[5.0, 0.0], [0.0, 5.0]]),
    }
    targets = {"action": torch.tensor([0, 0]), "object": torch.tensor([1, 1]), "location": torch.tensor([0, 0])}
    assert utterance_correct(logits, targets).tolist() == [True, False]
    assert utterance_correct(logits, {"action": targets["action"]}).tolist() == [True, True]
    with pytest.raises(ValueError, match="no logits"):
        utterance_correct(logits, {"intent": torch.tensor([0, 0])})


def test_supervised_heads_from_a_label_set():
    values = {"action": ("a", "b"), "object": ("x", "y", "z"), "location": ("none",)}
    labels = SimpleNamespace(slot_values=values.__getitem__, intents=((1,), (2,), (3,), (4,)))
    assert supervised_heads(labels, "slots") == {"action": 2, "object": 3, "location": 1}
    assert supervised_heads(labels, "intent") == {"intent": 4}
    with pytest.raises(ValueError, match="unknown supervised head mode"):
        supervised_heads(labels, "words")


def test_invalid_heads_are_rejected():
    with pytest.raises(ValueError, match="at least one supervised head"):
        IntentModule(4, IntentConfig(heads={}))
    with pytest.raises(ValueError, match="both heads and aux_heads"):
        IntentModule(4, IntentConfig(heads={"intent": 3}, aux_heads={"intent": 3}))
    with pytest.raises(ValueError, match="positive number"):
        IntentModule(4, IntentConfig(heads={"intent": 0}))
