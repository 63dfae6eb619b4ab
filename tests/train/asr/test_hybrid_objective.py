"""Paper 001 eq. 4 on a hand-made batch: the training loss equals CE + sum_j lambda_j tau_j^2 KL, computed here by
hand over every frame; teacher segment rows reach exactly the frames of their segments."""

from __future__ import annotations

import math

import pytest
import torch

from crossdistill.kd import StepContext
from crossdistill.students.asr import HybridAcousticModel, HybridModelConfig
from crossdistill.teachers.lm.posteriors import SegmentPosteriors
from crossdistill.train.asr.hybrid_data import collate_hybrid, teacher_distributions, teacher_key
from crossdistill.train.asr.hybrid_module import build_eq4_objective, compute_step

SENONES, PHONES = 6, 4


def utterance(utt_id: str, frames: int, senones: list[int], phone_segments: list[int], top_k: int, seed: int) -> dict:
    """Features, senone labels and top-k phone-LM rows for segments of the given lengths (sum = frames)."""
    generator = torch.Generator().manual_seed(seed)
    rows = torch.softmax(torch.randn(len(phone_segments), PHONES, generator=generator) * 2, dim=-1)
    probs, ids = torch.sort(rows, dim=-1, descending=True)
    probs, ids = probs[:, :top_k], ids[:, :top_k]
    return {
        "utt_id": utt_id,
        "features": torch.randn(frames, 80, generator=generator),
        "senone": torch.tensor(senones),
        "teacher/phone": SegmentPosteriors(
            units=ids[:, 0],
            segment_lengths=torch.tensor(phone_segments),
            probs=probs / probs.sum(-1, keepdim=True),
            top_ids=ids,
            vocab=PHONES,
        ),
    }


@pytest.fixture
def batch() -> dict:
    # Utterances of 7 and 3 frames: a frame mean and a mean of utterance means differ.
    items = [
        utterance("1-1-0000", 7, [0, 0, 1, 2, 2, 2, 5], [2, 4, 1], top_k=2, seed=1),
        utterance("1-1-0001", 3, [3, 4, 4], [1, 2], top_k=2, seed=2),
    ]
    return collate_hybrid(items) | {"items": items}


def test_segment_rows_are_expanded_onto_their_frames(batch):
    probs, ids = batch[teacher_key("phone", "probs")], batch[teacher_key("phone", "ids")]
    assert probs.shape == (10, 2) and ids.shape == (10, 2)
    frame = 0
    for item in batch["items"]:
        rows = item["teacher/phone"]
        for k, length in enumerate(rows.segment_lengths.tolist()):
            for _ in range(length):
                assert torch.equal(probs[frame], rows.probs[k]) and torch.equal(ids[frame], rows.top_ids[k])
                frame += 1
    dense = teacher_distributions(batch, {"phone": PHONES})["phone"]
    assert dense.shape == (10, PHONES) and torch.allclose(dense.sum(-1), torch.ones(10))
    assert ((dense > 0).sum(-1) == 2).all()  # top-2 rows: zeros elsewhere
    assert torch.equal(batch["senone"], torch.tensor([0, 0, 1, 2, 2, 2, 5, 3, 4, 4]))
    assert batch["lengths"].tolist() == [7, 3] and batch["features"].shape == (2, 7, 80)


@pytest.mark.parametrize(("weight", "temperature"), [(1.0, 1.0), (0.3, 2.0)])
def test_the_loss_is_paper_001_eq_4_over_every_frame(batch, weight, temperature):
    torch.manual_seed(0)
    model = HybridAcousticModel(
        HybridModelConfig(d_model=16, num_layers=1, num_heads=2, ff_dim=32, conv_channels=2, dropout=0.0),
        {"senone": SENONES, "aux/phone": PHONES},
    ).eval()
    objective = build_eq4_objective({"phone": (weight, temperature)})
    result = compute_step(model, objective, batch, {"phone": PHONES}, StepContext(epoch=1, max_epoch=1))

    # By hand: each utterance alone through the model, then CE and tempered KL frame by frame.
    ce_sum = kl_sum = 0.0
    frames = 0
    for item in batch["items"]:
        logits, _ = model(item["features"][None], torch.tensor([item["features"].shape[0]]))
        senone, aux = logits["senone"][0], logits["aux/phone"][0]
        rows = item["teacher/phone"]
        frame = 0
        for k, length in enumerate(rows.segment_lengths.tolist()):
            teacher = torch.zeros(PHONES)
            teacher[rows.top_ids[k]] = rows.probs[k]
            tempered = teacher ** (1 / temperature)
            tempered = tempered / tempered.sum()
            for _ in range(length):
                ce_sum += -torch.log_softmax(senone[frame], -1)[item["senone"][frame]].item()
                log_q = torch.log_softmax(aux[frame] / temperature, -1)
                kl = sum(p * (math.log(p) - log_q[v].item()) for v, p in enumerate(tempered.tolist()) if p > 0)
                kl_sum += temperature**2 * kl
                frame += 1
                frames += 1
    assert result.frames == frames == 10
    assert result.supervised.item() == pytest.approx(ce_sum / frames, rel=1e-5)
    assert result.kd["phone"].item() == pytest.approx(kl_sum / frames, rel=1e-5)
    assert result.total.item() == pytest.approx((ce_sum + weight * kl_sum) / frames, rel=1e-5)
