"""Bad input to a seq2seq run fails before anything is written, naming the value: the config (lambda outside [0, 1]
for LST, T <= 0, an unknown objective, a missing LM), an LM whose vocabulary differs from the units folder's, a
transcript word the sentencepiece model cannot spell, a transcript cache made for another LM."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crossdistill.data.asr.librispeech import AsrUtterance
from crossdistill.data.asr.units.subwords import SubwordModel, train_subword_model
from crossdistill.train.asr import seq2seq_inputs
from crossdistill.train.asr.seq2seq import load_config, train
from crossdistill.train.asr.seq2seq_inputs import encode_transcripts, uncoverable_word

CONFIGS = Path(__file__).parents[3] / "configs" / "asr" / "seq2seq"
REQUIRED = ["corpus=C", "units=U", "out=O"]


@pytest.mark.parametrize(
    ("config", "overrides", "message"),
    [
        ("lst", ["lm=L", "objective.weight=1.5"], r"lambda of LST, paper 001 eq. 3\) must lie in \[0, 1\], got 1.5"),
        ("lst", ["lm=L", "objective.weight=-0.1"], r"must lie in \[0, 1\], got -0.1"),
        ("lst", ["lm=L", "objective.temperature=0"], r"objective.temperature \(T\) must be > 0, got 0"),
        ("multitask", ["lm=L", "objective.temperature=-2.0"], r"must be > 0, got -2.0"),
        ("multitask", ["lm=L", "objective.weight=-1"], r"lambda of paper 001 eq. 4\) must be >= 0, got -1"),
        ("multitask", [], r"distils the subword LM: set lm="),
        (
            "supervised",
            ["objective.name=label_smoothing"],
            r"objective.name in .*supervised.yaml must be one of .*got 'label_smoothing'",
        ),
        ("supervised", ["ctc_weight=1.0"], r"ctc_weight must lie in \[0, 1\), got 1.0"),
        ("supervised", ["decode.beam=0"], r"beam must be an integer >= 1, got 0"),
        ("supervised", ["model.d_model=30", "model.num_heads=4"], r"divisible"),
        ("supervised", ["objectiv.name=lst"], r"objectiv"),
    ],
)
def test_bad_settings_are_named_when_the_config_loads(config, overrides, message):
    with pytest.raises(ValueError, match=message):
        load_config(CONFIGS / f"{config}.yaml", REQUIRED + overrides)


def test_the_shipped_configs_load_with_the_papers_temperatures():
    loaded = {name: load_config(CONFIGS / f"{name}.yaml", [*REQUIRED, "lm=L"]) for name in ("lst", "multitask")}
    assert loaded["lst"].objective.temperature == 5.0 and loaded["multitask"].objective.temperature == 1.0
    assert load_config(CONFIGS / "supervised.yaml", REQUIRED).objective.name == "supervised"


def test_an_lm_over_another_vocabulary_is_refused_before_training(asr_pipeline, tmp_path):
    lm = tmp_path / "lm"
    shutil.copytree(asr_pipeline.lms / "subword", lm, ignore=shutil.ignore_patterns("transcripts", "posteriors"))
    config = json.loads((lm / "config.json").read_text())
    config["inventory"][10], config["inventory"][11] = config["inventory"][11], config["inventory"][10]
    (lm / "config.json").write_text(json.dumps(config))
    out = tmp_path / "run"
    overrides = [f"corpus={asr_pipeline.corpus}", f"units={asr_pipeline.units}", f"lm={lm}", f"out={out}",
                 f"features_cache={asr_pipeline.features_cache}", "objective.weight=0.5"]  # fmt: skip
    with pytest.raises(ValueError, match=r"subword 10 .* but the LM's subword 10 is .*vocabulary must equal"):
        train(load_config(CONFIGS / "lst.yaml", overrides))
    assert not out.exists()
    phone_lm = [*overrides[:2], f"lm={asr_pipeline.lms / 'phone'}", *overrides[3:]]
    with pytest.raises(ValueError, match="is a phone LM: transcript targets need the subword LM"):
        train(load_config(CONFIGS / "multitask.yaml", phone_lm))
    assert not out.exists()


def test_a_transcript_cache_of_another_lm_is_refused(asr_pipeline, tmp_path):
    from crossdistill.teachers.lm.posteriors import CacheOptions
    from crossdistill.teachers.lm.transcripts import build_transcript_cache

    cache = tmp_path / "cache"
    build_transcript_cache(CacheOptions(lm=asr_pipeline.lms / "subword", corpus=asr_pipeline.corpus, top_k=0,
                                        out=cache, threads=1, progress=False))  # fmt: skip
    other_lm = tmp_path / "lm2"  # the same LM with another dropout setting: another LM for every cache key
    shutil.copytree(asr_pipeline.lms / "subword", other_lm, ignore=shutil.ignore_patterns("transcripts", "posteriors"))
    config = json.loads((other_lm / "config.json").read_text())
    (other_lm / "config.json").write_text(json.dumps({**config, "dropout": config["dropout"] / 2}))
    overrides = [
        f"corpus={asr_pipeline.corpus}",
        f"units={asr_pipeline.units}",
        f"lm={other_lm}",
        f"teacher_cache={cache}",
        f"out={tmp_path / 'run'}",
        f"features_cache={asr_pipeline.features_cache}",
    ]
    with pytest.raises(ValueError, match=r"has key .* expected .*made from another LM"):
        train(load_config(CONFIGS / "multitask.yaml", overrides))
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def subwords_without_z(tmp_path_factory) -> SubwordModel:
    """A sentencepiece model trained on text that never has the letter Z."""
    root = tmp_path_factory.mktemp("spm")
    text = root / "text.txt"
    text.write_text("".join(f"THE CAT SAT ON THE MAT {w}\n" for w in ("HOME", "BIG", "RED", "DOG", "RAN")) * 20)
    train_subword_model(text, root / "subword.model", vocab_size=20, seed=0)
    return SubwordModel(root / "subword.model")


def _utterance(words: str, line: int = 3) -> AsrUtterance:
    return AsrUtterance("1-2-0003", 1, 2, Path("train/1/2/1-2-0003.flac"), tuple(words.split()), 16000,
                        Path("train/1/2/1-2.trans.txt"), line)  # fmt: skip


def test_a_word_the_subword_model_cannot_spell_is_found(subwords_without_z):
    tokens, uncovered = encode_transcripts(subwords_without_z, [_utterance("THE CAT"), _utterance("THE ZOO CAT", 7)])
    assert [(u.line, word) for u, word in uncovered] == [(7, "ZOO")]
    assert subwords_without_z.processor.unk_id() not in tokens["1-2-0003"][:1]
    message = uncoverable_word(subwords_without_z, *uncovered[0])
    assert "train/1/2/1-2.trans.txt, line 7: word 'ZOO' of 1-2-0003 cannot be spelled" in message


def test_an_unspellable_training_word_stops_the_run_before_it_starts(asr_pipeline, subwords_without_z, tmp_path,
                                                                    monkeypatch):  # fmt: skip
    # The tiny corpus's words are all spelled by its own model; a model that lacks a letter stands in for a units
    # folder whose LM text never had it.
    monkeypatch.setattr(seq2seq_inputs, "open_subword_model", lambda units: subwords_without_z)
    out = tmp_path / "run"
    overrides = [f"corpus={asr_pipeline.corpus}", f"units={asr_pipeline.units}", f"out={out}",
                 f"features_cache={asr_pipeline.features_cache}"]  # fmt: skip
    with pytest.raises(
        ValueError, match=r"splits.train='train': .*trans.txt, line \d+: word '.*' of .* cannot be spelled"
    ):
        train(load_config(CONFIGS / "supervised.yaml", overrides))
    assert not out.exists()
