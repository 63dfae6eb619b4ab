"""Teacher model: config validation, save/load round trip, label-set checks, encoder resolution."""

from __future__ import annotations

import json

import pytest
import torch

from crossdistill.data.corpus import LabelSet
from crossdistill.teachers.text import (
    TeacherConfig,
    TeacherLabelMismatch,
    build_teacher,
    check_label_set,
    load_teacher,
    minilm_path,
    predict,
    resolve_encoder,
    save_teacher,
)

LABELS = LabelSet(
    actions=("activate", "deactivate"),
    objects=("lights", "music"),
    locations=("kitchen", "none"),
    intents=(("activate", "lights", "kitchen"), ("activate", "music", "none"), ("deactivate", "music", "none")),
)


def scratch_config(**overrides) -> TeacherConfig:
    options = {
        "arch": "scratch",
        "labels": LABELS.to_dict(),
        "heads": ("intent", "action", "object", "location"),
        "tokenizer_source": str(minilm_path()),
        "embedding_dim": 16,
        "hidden_dim": 8,
        "max_length": 12,
    }
    return TeacherConfig(**(options | overrides))


def test_heads_have_one_class_per_label():
    assert scratch_config().head_sizes() == {"intent": 3, "action": 2, "object": 2, "location": 2}
    assert scratch_config(heads=("intent",)).head_sizes() == {"intent": 3}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"arch": "gpt"}, "unknown teacher arch"),
        ({"heads": ("action",)}, "heads must start with 'intent'"),
        ({"heads": ("intent", "color")}, "heads must start"),
        ({"max_length": 2}, "max_length"),
    ],
)
def test_bad_config_is_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        scratch_config(**overrides)


def test_saved_teacher_loads_with_identical_outputs(tmp_path):
    torch.manual_seed(0)
    teacher = build_teacher(scratch_config()).eval()
    texts = ["turn on the kitchen lights", "stop the music", "play"]
    before, _ = predict(teacher, texts)
    save_teacher(teacher, tmp_path / "t")
    assert json.loads((tmp_path / "t" / "teacher.json").read_text())["labels"] == LABELS.to_dict()
    loaded = load_teacher(tmp_path / "t")
    assert not loaded.training
    after, _ = predict(loaded, texts)
    assert before.keys() == after.keys() == {"intent", "action", "object", "location"}
    for head in before:
        torch.testing.assert_close(after[head], before[head], rtol=0, atol=0)


def test_tokenizer_truncates_to_max_length():
    teacher = build_teacher(scratch_config(max_length=5))
    batch = teacher.tokenize(["one two three four five six seven", "one"])
    assert batch["input_ids"].shape == (2, 5)
    assert batch["attention_mask"].tolist()[1] == [1, 1, 1, 0, 0]


def test_label_set_mismatch_names_what_differs():
    config = scratch_config()
    check_label_set(config, LABELS)  # the same label set passes
    fewer = LabelSet(LABELS.actions, LABELS.objects, LABELS.locations, LABELS.intents[:2])
    with pytest.raises(TeacherLabelMismatch, match=r"intents: teacher has 3, the corpus has 2 \(only in teacher"):
        check_label_set(config, fewer)
    reordered = LabelSet(LABELS.actions[::-1], LABELS.objects, LABELS.locations, LABELS.intents)
    with pytest.raises(TeacherLabelMismatch, match="same values, different order"):
        check_label_set(config, reordered)


def test_load_teacher_from_a_folder_that_is_not_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a trained teacher folder"):
        load_teacher(tmp_path)
    (tmp_path / "teacher.json").write_text("{not json")
    with pytest.raises(ValueError, match="invalid teacher config"):
        load_teacher(tmp_path)


def test_resolve_encoder(tmp_path):
    assert resolve_encoder("minilm") == str(minilm_path())
    assert (minilm_path() / "model.safetensors").is_file()
    assert resolve_encoder("bert-base-uncased") == "bert-base-uncased"  # a hub name is left to the user
    with pytest.raises(FileNotFoundError, match=r"no config\.json"):
        resolve_encoder(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"encoder folder .* not found"):
        resolve_encoder(str(tmp_path / "missing"))
