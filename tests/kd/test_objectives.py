import pytest
import torch

from crossdistill.kd import (
    COMBINATIONS,
    DECISIONS,
    DISTANCES,
    OBJECTIVES,
    SCHEDULES,
    DecisionInputs,
    DistillationObjective,
    DistillationTerm,
    LabelInterpolationObjective,
    StepContext,
    WeightPolicy,
    build_objective,
    combine_losses,
    lst_target,
    normalized_entropy_from_logits,
    recip,
    supervised_cross_entropy,
    triangular,
)


def test_every_registry_resolves_every_name_it_lists():
    for registry in (DISTANCES, SCHEDULES, DECISIONS, COMBINATIONS, OBJECTIVES):
        assert registry.names()
        for name in registry:
            assert registry.get(name) is not None


def test_combinations_hand_values():
    orig, kd = torch.tensor([2.0, 4.0]), torch.tensor([1.0, 0.0])
    assert combine_losses(orig, kd, 0.25, "weighted").item() == pytest.approx(((0.75 * 2 + 0.25) + 0.75 * 4) / 2)
    assert combine_losses(orig, kd, 0.25, "additive").item() == pytest.approx(((2 + 0.25) + 4) / 2)
    lam = torch.tensor([0.0, 1.0])
    assert combine_losses(orig, kd, lam, "weighted").item() == pytest.approx((2 + 0) / 2)
    with pytest.raises(ValueError, match="lam must be"):
        combine_losses(orig, kd, torch.ones(3))


def test_weighted_rejects_lambdas_above_one():
    with pytest.raises(ValueError, match="additive"):
        COMBINATIONS.get("weighted")(torch.ones(2), [torch.ones(2), torch.ones(2)], [torch.ones(2), torch.ones(2)])


def test_error_rate_decision_is_batch_wise():
    correct = torch.tensor([True, False, True, True])
    lam = DECISIONS.get("error_rate")(DecisionInputs(batch_size=4, student_correct=correct))
    assert torch.allclose(lam, torch.full((4,), 0.25))


def test_policy_product_of_schedule_and_decision():
    policy = WeightPolicy(schedule="triangular", decision="dropout")
    confidence = torch.tensor([0.0, 1.0, 3.0])
    lam = policy.compute_lambda(40, 100, DecisionInputs(batch_size=3, teacher_confidence=confidence))
    assert torch.allclose(lam, triangular(40, 100) * recip(confidence))
    assert policy.describe() == "triangular x dropout"


def test_missing_decision_input_is_a_clear_error():
    policy = WeightPolicy(decision="entropy")
    with pytest.raises(ValueError, match="teacher_entropy"):
        policy.compute_lambda(1, 10, DecisionInputs(batch_size=2))


def test_unknown_names_fail_at_construction():
    with pytest.raises(ValueError, match="unknown schedule"):
        WeightPolicy(schedule="cosine")
    with pytest.raises(ValueError, match="unknown weight decision"):
        WeightPolicy.from_config({"decision": "oracle"})
    with pytest.raises(ValueError, match="unknown objective"):
        build_objective({"type": "magic"})


def test_vanilla_objective_is_the_supervised_loss():
    objective = build_objective(
        {"terms": [{"teacher_output": "logits/intent", "student_head": "intent", "policy": {"scale": 0}}]}
    )
    supervised = torch.tensor([1.0, 3.0])
    out = objective.compute_loss(supervised, {"intent": torch.randn(2, 5)}, {}, StepContext(1, 10))
    assert out.total.item() == pytest.approx(2.0)
    assert not out.kd and objective.teacher_keys() == set()


def test_terms_objective_matches_hand_combination_and_spares_the_teacher():
    torch.manual_seed(0)
    student = torch.randn(3, 4, requires_grad=True)
    teacher = torch.randn(3, 4, requires_grad=True)
    targets = torch.tensor([0, 1, 2])
    entropy = normalized_entropy_from_logits(teacher.detach())
    term = DistillationTerm("logits/intent", "intent", "l1", WeightPolicy(schedule="exp_decay", decision="entropy"))
    objective = DistillationObjective([term], "weighted")
    supervised = supervised_cross_entropy(student, targets)
    out = objective.compute_loss(
        supervised, {"intent": student}, {"logits/intent": teacher, "entropy/intent": entropy}, StepContext(2, 10)
    )
    lam = torch.exp(torch.tensor(-1.0)) * recip(entropy)
    l1 = (student - teacher).abs().mean(-1)
    expected = ((1 - lam) * supervised + lam * l1).mean()
    assert out.total.item() == pytest.approx(expected.item(), rel=1e-5)
    assert objective.teacher_keys() == {"logits/intent", "entropy/intent"}
    out.total.backward()
    assert teacher.grad is None


def test_multi_task_terms_with_different_output_units():
    student = {"am": torch.randn(2, 5, 10), "kd_phone": torch.randn(2, 5, 4), "kd_subword": torch.randn(2, 5, 7)}
    teacher = {"logits/phone": torch.randn(2, 5, 4), "logits/subword": torch.randn(2, 5, 7)}
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    objective = build_objective(
        {
            "combination": "additive",
            "terms": [
                {
                    "teacher_output": "logits/phone",
                    "student_head": "kd_phone",
                    "distance": "kl",
                    "policy": {"scale": 0.5},
                },
                {
                    "teacher_output": "logits/subword",
                    "student_head": "kd_subword",
                    "distance": "kl",
                    "temperature": 2.0,
                },
            ],
        }
    )
    targets = torch.randint(0, 10, (2, 5))
    supervised = supervised_cross_entropy(student["am"], targets, mask)
    context = StepContext(1, 1, masks={"kd_phone": mask, "kd_subword": mask})
    out = objective.compute_loss(supervised, student, teacher, context)
    assert set(out.kd) == {"logits/phone->kd_phone", "logits/subword->kd_subword"}
    assert out.total.item() > supervised.mean().item()


def test_lst_target_and_loss():
    targets = torch.tensor([1])
    teacher = torch.tensor([[0.0, 0.0, 0.0]])
    target = lst_target(targets, teacher, alpha=0.3)
    assert torch.allclose(target, torch.tensor([[0.1, 0.8, 0.1]]))
    objective = LabelInterpolationObjective("logits/subword", "am", alpha=0.0)
    student = torch.randn(1, 3)
    out = objective.compute_loss(targets, {"am": student}, {"logits/subword": teacher}, StepContext(1, 1))
    assert out.total.item() == pytest.approx(supervised_cross_entropy(student, targets).item(), rel=1e-6)
    with pytest.raises(ValueError, match="share output units"):
        objective.compute_loss(targets, {"am": torch.randn(1, 4)}, {"logits/subword": teacher}, StepContext(1, 1))
