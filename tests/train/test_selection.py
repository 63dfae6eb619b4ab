import pytest
import torch

from crossdistill.train.intent_data import collate_encoded, teacher_tensors
from crossdistill.train.run import choose_epoch


def test_selection_uses_validation_only_and_prefers_earliest_tie():
    history = [
        {"epoch": 1, "valid/error": 0.3, "test/error": 0.01},
        {"epoch": 2, "valid/error": 0.1, "test/error": 0.2},
        {"epoch": 3, "valid/error": 0.1, "test/error": 0.0},
    ]
    assert choose_epoch(history)["epoch"] == 2
    with pytest.raises(ValueError, match="validation"):
        choose_epoch([{"epoch": 1}])


def test_collate_pads_and_keeps_teacher_tensors():
    items = [
        {"utt_id": "a", "encoded": torch.ones(3, 2), "intent": torch.tensor(1), "slots": torch.tensor([0, 1, 2]),
         "teacher/logits/intent": torch.zeros(4)},
        {"utt_id": "b", "encoded": torch.ones(5, 2), "intent": torch.tensor(0), "slots": torch.tensor([1, 1, 1]),
         "teacher/logits/intent": torch.ones(4)},
    ]  # fmt: skip
    batch = collate_encoded(items)
    assert batch["encoded"].shape == (2, 5, 2)
    assert batch["encoded_lengths"].tolist() == [3, 5]
    assert batch["encoded"][0, 3:].abs().sum() == 0
    assert set(teacher_tensors(batch)) == {"logits/intent"}
