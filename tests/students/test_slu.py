"""SLU student: forward from waveform, features or cached outputs; freezing; configs; save/load."""

import json

import pytest
import torch
from omegaconf import OmegaConf

from crossdistill.students import (
    AcousticModule,
    SLUStudent,
    build_student,
    count_parameters,
    preset_config,
    slu_config_from_dict,
)

SLOTS = {"action": 3, "object": 4, "location": 2}


def make_student(frontend="sincnet", intent_input="word_hidden", aux=None, seed=0):
    torch.manual_seed(seed)
    config = preset_config("tiny", frontend, n_phonemes=7, n_words=5, heads=SLOTS, aux_heads=aux)
    config.intent_input = intent_input
    return SLUStudent(config)


def wave_batch():
    return {"waveform": torch.randn(2, 6000), "lengths": torch.tensor([6000, 4000])}


@pytest.mark.parametrize("intent_input", ["word_hidden", "word_posteriors"])
def test_forward_returns_every_head(intent_input):
    student = make_student(intent_input=intent_input, aux={"kd_intent": 11})
    out = student(wave_batch())
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "action": (2, 3),
        "object": (2, 4),
        "location": (2, 2),
        "kd_intent": (2, 11),
    }
    expected_dim = 16 if intent_input == "word_hidden" else 5
    assert student.encoded_dim == expected_dim


def test_logmel_student_reads_features_and_names_missing_keys():
    student = make_student("logmel")
    out = student({"features": torch.randn(2, 50, 40), "lengths": torch.tensor([50, 20])})
    assert out["object"].shape == (2, 4)
    with pytest.raises(ValueError, match="lengths"):
        student({"features": torch.randn(2, 50, 40)})
    with pytest.raises(ValueError, match="features"):
        student(wave_batch())


def test_cached_encoding_gives_the_same_logits_while_training():
    student = make_student()
    student.freeze_acoustic()
    student.train()
    assert not student.acoustic.training, "a frozen acoustic module runs without dropout"
    batch = wave_batch()
    encoded, lengths = student.encode(batch["waveform"], batch["lengths"])
    assert not encoded.requires_grad
    student.intent.eval()  # compare without the intent module's own dropout
    live = student(batch)
    cached = student({"encoded": encoded, "encoded_lengths": lengths})
    for name in live:
        torch.testing.assert_close(live[name], cached[name], atol=0, rtol=0)


def test_freeze_and_unfreeze_scopes():
    student = make_student()
    student.freeze_acoustic()
    assert student.acoustic_frozen
    assert count_parameters(student, trainable_only=True) == count_parameters(student.intent)
    loss = sum(v.sum() for v in student(wave_batch()).values())
    loss.backward()
    assert all(p.grad is None for p in student.acoustic.parameters())
    assert all(p.grad is not None for p in student.intent.parameters())

    student.unfreeze_acoustic("word")
    trainable = {n for n, p in student.acoustic.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("word_layers") for n in trainable)
    student.train()
    assert student.acoustic.training
    student.unfreeze_acoustic("all")
    frozen = {n.split(".")[0] for n, p in student.acoustic.named_parameters() if not p.requires_grad}
    assert frozen == {"phoneme_classifier", "word_classifier"}  # the word_hidden input uses neither


@pytest.mark.parametrize("intent_input", ["word_hidden", "word_posteriors"])
@pytest.mark.parametrize("scope", ["word", "all"])
def test_every_unfrozen_parameter_gets_a_gradient(scope, intent_input):
    # DDP fails on trainable parameters that the loss does not use, so unfreezing must mark exactly those used.
    student = make_student(intent_input=intent_input)
    student.unfreeze_acoustic(scope)
    student.train()
    sum(v.sum() for v in student(wave_batch()).values()).backward()
    for name, parameter in student.named_parameters():
        assert (parameter.grad is not None) == parameter.requires_grad, name
    with pytest.raises(ValueError, match="unfreeze scope"):
        student.unfreeze_acoustic("phoneme")


def test_save_load_round_trip_keeps_heads_and_outputs(tmp_path):
    student = make_student(aux={"kd": 6}).eval()
    student.save_pretrained(tmp_path / "student")
    config = json.loads((tmp_path / "student" / "config.json").read_text())
    assert config["kind"] == "slu" and config["intent"]["aux_heads"] == {"kd": 6}
    loaded = SLUStudent.from_pretrained(tmp_path / "student").eval()
    batch = wave_batch()
    for name, logits in student(batch).items():
        torch.testing.assert_close(loaded(batch)[name], logits, atol=0, rtol=0)
    with pytest.raises(ValueError, match="'slu' module, expected 'acoustic'"):
        AcousticModule.from_pretrained(tmp_path / "student")
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors"):
        SLUStudent.from_pretrained(tmp_path / "nowhere")


def test_build_student_with_a_pretrained_acoustic_module(tmp_path):
    acoustic = make_student().acoustic.eval()
    acoustic.save_pretrained(tmp_path / "acoustic")
    student = build_student({"preset": "tiny", "intent": {"heads": {"intent": 31}}}, tmp_path / "acoustic")
    assert student.acoustic_frozen
    x, lengths = torch.randn(1, 5000), torch.tensor([5000])
    torch.testing.assert_close(student.acoustic(x, lengths).word_logits, acoustic(x, lengths).word_logits)


def test_config_from_dict_presets_overrides_and_typos():
    config = slu_config_from_dict(
        OmegaConf.create(
            {
                "preset": "default",
                "frontend": "logmel",
                "intent_input": "word_posteriors",
                "acoustic": {"n_words": 12, "logmel": {"n_mels": 80}},
                "intent": {"heads": {"intent": 31}, "aux_heads": {"kd": 31}},
            }
        )
    )
    assert config.acoustic.frontend == "logmel" and config.acoustic.logmel.n_mels == 80
    assert config.acoustic.phoneme_hidden == [64, 64] and config.acoustic.n_words == 12
    assert config.intent.hidden == 64 and config.intent.heads == {"intent": 31}
    student = SLUStudent(config)
    assert student.encoded_dim == 12
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['hiden'\]"):
        slu_config_from_dict({"preset": "tiny", "intent": {"hiden": 3}})
    with pytest.raises(ValueError, match="intent_input"):
        build_student({"preset": "tiny", "intent_input": "words", "intent": {"heads": {"intent": 2}}})
