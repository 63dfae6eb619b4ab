"""Split options of the synthetic corpus: random unchanged, unseen-utterance and unseen-speaker invariants."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.corpus import load_corpus
from crossdistill.data.grammar import Phrasing, load_grammar
from crossdistill.data.speakers import voice_variants
from crossdistill.data.splits import (
    SINGLE_ENGINE_SPLIT_KINDS,
    Partition,
    check_every_intent_trained,
    layout_split,
    partition_phrasings,
    partition_variants,
    recorded_split,
)
from crossdistill.data.synth import plan_corpus, plan_utterances, synthesize_corpus

# sha256 of the plan [[split, utterance name, transcription], ...] of the default preset (97 x 60, seed 0) and of its
# 97 speaker configurations, measured at commit 5835bbe, before the split option existed.
DEFAULT_PLAN_SHA256 = "86399e2779966c35d2a03cc482fa43de596caf322746ce32e7d6bd41340a3311"
DEFAULT_SPEAKERS_SHA256 = "e450b521753bad0ac8cd98ac3107a6fc6081da3e31c6a4bd6536ff45d68bda30"

sizes = st.fixed_dictionaries(
    {"n_speakers": st.integers(3, 40), "per_speaker": st.integers(1, 60), "seed": st.integers(0, 2**31 - 1)}
)


def _by_split(plan) -> dict[str, list[Phrasing]]:
    said: dict[str, list[Phrasing]] = {"train": [], "valid": [], "test": []}
    for split, utterances in zip(plan.split_of, plan.utterances, strict=True):
        said[split] += [u.phrasing for u in utterances]
    return said


def _sha256(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def test_random_split_plan_is_the_one_from_before_the_option():
    plan = plan_corpus(97, 60, 1.0, 0, "random")
    rows = [
        [split, f"wavs/speakers/spk{index:03d}/{u.name}", u.phrasing.text]
        for split in ("train", "valid", "test")
        for index, (s, utterances) in enumerate(zip(plan.split_of, plan.utterances, strict=True))
        if s == split
        for u in utterances
    ]
    assert len(rows) == 97 * 60
    assert hashlib.sha256(json.dumps(rows).encode()).hexdigest() == DEFAULT_PLAN_SHA256
    assert _sha256([c.to_dict() for c in plan.speakers]) == DEFAULT_SPEAKERS_SHA256
    assert plan.layout.record() is None  # nothing new in corpus.json either


@settings(max_examples=40, deadline=None)
@given(sizes)
def test_unseen_utterance_holds_out_phrasings_of_trained_intents(size):
    plan = plan_corpus(size["n_speakers"], size["per_speaker"], 0.5, size["seed"], "unseen-utterance")
    said = _by_split(plan)
    texts = {split: {p.text for p in phrasings} for split, phrasings in said.items()}
    assert not texts["train"] & texts["valid"] and not texts["train"] & texts["test"]
    assert not texts["valid"] & texts["test"]
    trained = {p.intent for p in said["train"]}
    assert {p.intent for p in said["valid"] + said["test"]} <= trained
    partition = plan.layout.phrasings
    assert {p.text for p in said["test"]} <= {p.text for p in partition.test}
    # Speakers, and so the files, are the random split's.
    assert plan.split_of == plan_corpus(size["n_speakers"], size["per_speaker"], 0.5, size["seed"]).split_of


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_phrasing_partition_keeps_every_intent_trained_and_tests_all_it_can(seed):
    grammar = load_grammar()
    partition = partition_phrasings(grammar.phrasings, np.random.default_rng(seed))
    assert Counter(partition.train + partition.valid + partition.test) == Counter(grammar.phrasings)
    count = Counter(p.intent for p in grammar.phrasings)
    assert {p.intent for p in partition.train} == set(count)
    # Every intent with a phrasing to spare keeps one unseen phrasing for test (all 31 of the shipped grammar).
    assert {p.intent for p in partition.test} == {intent for intent, n in count.items() if n >= 2}
    assert len({p.intent for p in partition.test}) == 31
    for intent, n in count.items():
        held = max(1, n // 8)
        assert sum(p.intent == intent for p in partition.test) == min(held, n - 1)


def test_phrasing_partition_of_small_intents():
    one = Phrasing("lights on", ("activate", "lights", "none"))
    two = [Phrasing("music on", ("activate", "music", "none")), Phrasing("play music", ("activate", "music", "none"))]
    partition = partition_phrasings([one, *two], np.random.default_rng(0))
    assert one in partition.train and one not in partition.test
    assert sorted(p.text for p in partition.train + partition.test if p.intent[1] == "music") == sorted(
        p.text for p in two
    )
    assert partition.valid == ()


@settings(max_examples=40, deadline=None)
@given(sizes)
def test_unseen_speaker_has_disjoint_speakers_and_voices(size):
    plan = plan_corpus(size["n_speakers"], size["per_speaker"], 1.0, size["seed"], "unseen-speaker")
    speakers = {split: set() for split in ("train", "valid", "test")}
    variants = {split: set() for split in ("train", "valid", "test")}
    for config, split in zip(plan.speakers, plan.split_of, strict=True):
        speakers[split].add(config.speaker_id)
        variants[split].add(config.voice.split("+", 1)[1])
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not speakers[a] & speakers[b]
        assert not variants[a] & variants[b]
    said = _by_split(plan)
    assert {p.intent for p in said["valid"] + said["test"]} <= {p.intent for p in said["train"]}


@settings(max_examples=25, deadline=None)
@given(sizes, st.sampled_from(SINGLE_ENGINE_SPLIT_KINDS))  # unseen-engine: tests/data/test_synth_engines.py
def test_plans_are_deterministic_given_the_seed(size, kind):
    args = (size["n_speakers"], size["per_speaker"], 0.5, size["seed"], kind)
    assert plan_corpus(*args) == plan_corpus(*args)


def test_the_kinds_plan_different_corpora():
    plans = {kind: plan_corpus(20, 30, 1.0, 0, kind) for kind in SINGLE_ENGINE_SPLIT_KINDS}
    utterances = {kind: [[u.phrasing.text for u in s] for s in plan.utterances] for kind, plan in plans.items()}
    assert utterances["unseen-utterance"] != utterances["random"]
    assert utterances["unseen-speaker"] == utterances["random"]  # same words, other voices
    assert [c.voice for c in plans["unseen-speaker"].speakers] != [c.voice for c in plans["random"].speakers]


def test_variant_partition_is_proportional_and_refuses_too_many():
    split_of = ["train"] * 77 + ["valid"] * 10 + ["test"] * 10
    layout = layout_split("unseen-speaker", split_of, (), voice_variants(), np.random.default_rng(0))
    assert (len(layout.variants.valid), len(layout.variants.test)) == (5, 5)  # 44 variants x 10/97
    assert sorted(layout.variants.train + layout.variants.valid + layout.variants.test) == sorted(voice_variants())
    with pytest.raises(ValueError, match="cannot hold out 3 valid and 2 test voice variants of 5"):
        partition_variants(["a", "b", "c", "d", "e"], np.random.default_rng(0), 3, 2)


def test_a_split_leaving_an_intent_untrained_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"test phrasing 'lamp off': intent \('deactivate', 'lamp', 'none'\) has no"):
        check_every_intent_trained(
            {("activate", "lamp", "none")},
            [(("activate", "lamp", "none"), "test phrasing 'lamp on'"),
             (("deactivate", "lamp", "none"), "test phrasing 'lamp off'")],
        )  # fmt: skip


def test_unseen_utterance_needs_trained_intents_for_its_held_out_phrasings():
    # The training speaker says only intent B, which (2 phrasings) has no valid phrasing: nothing for valid to say.
    a = [Phrasing(f"a{i}", ("activate", "lamp", "none")) for i in range(3)]
    b = [Phrasing(f"b{i}", ("deactivate", "lamp", "none")) for i in range(2)]
    partition = Partition(train=(a[0], b[0]), valid=(a[1],), test=(a[2], b[1]))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="no valid phrasing has an intent that the training speakers say"):
        plan_utterances(["train", "valid", "test"], 1, (b[0],), rng, Partition((b[0],), partition.valid, b[1:]))
    plans = plan_utterances(["train", "valid", "test"], 2, (*a, *b), np.random.default_rng(0), partition)
    assert {u.phrasing for u in plans[2]} <= {a[2], b[1]} and {u.phrasing for u in plans[1]} <= {a[1]}


def test_unknown_split_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="--split 'unseen' is unknown; choose one of random, unseen-utterance"):
        synthesize_corpus(tmp_path / "x", preset="tiny", speakers=3, utterances_per_speaker=1, split="unseen")
    assert not (tmp_path / "x").exists()


def test_unseen_utterance_corpus_records_its_split(tmp_path):
    root = synthesize_corpus(
        tmp_path / "c", preset="tiny", speakers=6, utterances_per_speaker=8, seed=1, progress=False,
        split="unseen-utterance",
    )  # fmt: skip
    corpus = load_corpus(root)
    metadata = json.loads((root / "corpus.json").read_text())
    assert metadata["options"]["split"] == "unseen-utterance" and recorded_split(corpus.metadata) == "unseen-utterance"
    record = metadata["split"]["phrasings"]
    said = {split: {u.transcription for u in utts} for split, utts in corpus.splits.items()}
    for split in ("train", "valid", "test"):
        assert said[split] <= set(record[split])
    assert not said["train"] & (said["valid"] | said["test"])
    # The same options again reuse it; another split refuses the folder.
    assert synthesize_corpus(root, preset="tiny", speakers=6, utterances_per_speaker=8, seed=1,
                             split="unseen-utterance") == root  # fmt: skip
    with pytest.raises(ValueError, match="already holds a corpus made with other options"):
        synthesize_corpus(root, preset="tiny", speakers=6, utterances_per_speaker=8, seed=1, progress=False)


def test_cli_synth_split_and_info_report_unseen_phrasings(tmp_path, capsys):
    from crossdistill.cli import main

    argv = ["data", "synth", "--out", str(tmp_path / "c"), "--preset", "tiny", "--speakers", "3"]
    assert main([*argv, "--utterances-per-speaker", "3", "--split", "unseen-utterance", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["split"] == "unseen-utterance"
    assert summary["phrasings_unseen_in_train"] == {"valid": summary["phrasings"]["valid"],
                                                    "test": summary["phrasings"]["test"]}  # fmt: skip
    assert main(["data", "info", str(tmp_path / "c")]) == 0
    assert json.loads(capsys.readouterr().out)["split"] == "unseen-utterance"


@pytest.mark.parametrize("kind", ["unseen-utterance", "unseen-speaker"])
def test_challenge_split_corpora_are_byte_identical_for_a_seed(tmp_path, kind):
    options = {"preset": "tiny", "speakers": 3, "utterances_per_speaker": 2, "seed": 5, "split": kind}
    one = synthesize_corpus(tmp_path / "one", jobs=1, progress=False, **options)
    two = synthesize_corpus(tmp_path / "two", jobs=2, progress=False, **options)
    files = [p.relative_to(one) for p in sorted(one.rglob("*")) if p.is_file()]
    assert files and files == [p.relative_to(two) for p in sorted(two.rglob("*")) if p.is_file()]
    assert all((one / f).read_bytes() == (two / f).read_bytes() for f in files)
