from pathlib import Path

import pytest

from crossdistill.kd import build_objective
from crossdistill.train.config import load_train_config, to_plain

CONFIGS = sorted((Path(__file__).parents[2] / "configs" / "table1").glob("*.yaml"))
REQUIRED = ["corpus=/c", "acoustic=/a", "out=/o"]


def test_table1_has_twelve_cells_and_each_builds_its_objective():
    assert len(CONFIGS) == 12
    for path in CONFIGS:
        config = load_train_config(path, REQUIRED)
        objective = build_objective(to_plain(config.objective))
        assert (path.stem == "vanilla") == (not objective.active_terms), path.name
        for term in objective.active_terms:
            assert term.distance == "l1" and objective.combination == "weighted"


def test_overrides_apply_and_typos_are_named(tmp_path):
    config = load_train_config(CONFIGS[0], [*REQUIRED, "epochs=3", "trainer.devices=2"])
    assert config.epochs == 3 and config.trainer.devices == 2
    with pytest.raises(ValueError, match="epoch"):
        load_train_config(CONFIGS[0], [*REQUIRED, "epoch=3"])
    with pytest.raises(ValueError, match="lacks"):
        load_train_config(CONFIGS[0], [])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_train_config(tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match="supervised"):
        load_train_config(None, [*REQUIRED, "supervised=words"])
    with pytest.raises(ValueError, match="unfreeze must be one of"):
        load_train_config(None, [*REQUIRED, "unfreeze=phoneme"])


def test_unknown_policy_in_config_fails_before_training(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "objective:\n  terms:\n"
        "    - {teacher_output: logits/intent, student_head: intent, policy: {decision: oracle}}\n"
    )
    with pytest.raises(ValueError, match=f"{path}: unknown weight decision 'oracle'"):
        load_train_config(path, REQUIRED)  # at load, before a run folder exists


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("objective.terms=[{teacher_output: logits/intent, student_head: intent, policy: {decision: dropuot}}]",
         "unknown weight decision 'dropuot'"),
        ("objective.terms=[{teacher_output: logits/intent, student_head: intent, policy: {schedule: triangluar}}]",
         "unknown schedule 'triangluar'"),
        ("objective.terms=[{teacher_output: logits/intent, student_head: intent, policy: {schedule: triangular, "
         "schedule_params: {pek: 3}}}]", "pek"),
        ("objective.terms=[{teacher_output: logits/intent, student_head: intnet}]", "student_head 'intnet'"),
        ("objective.terms=[{teacher_output: logits/intent, student_head: intent, temperature: warm}]",
         "must be a number"),
        ("objective.terms=[{teacher_output: logits/intent, student_head: intent, distance: l3}]", "l3"),
        ("intent.hiden=8", "unknown key"),
        ("intent_input=words", "intent_input must be one of"),
        ("epochs=0", "epochs must be at least 1"),
    ],
)  # fmt: skip
def test_the_whole_config_is_checked_at_load(override, message):
    with pytest.raises(ValueError, match=message):
        load_train_config(CONFIGS[0], [*REQUIRED, override])
