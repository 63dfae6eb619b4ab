"""Paper 001's corpus with ``--split unseen-engine``: one engine's speakers only in a second test set, that the reader
lists; train/dev/test planned as without the held-out engine; bad combinations refused before anything is written."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.cli import main
from crossdistill.data.asr.librispeech import load_asr_corpus
from crossdistill.data.asr.synth import get_preset, plan_speakers, synthesize_asr_corpus
from crossdistill.data.corpus import UNSEEN_ENGINE_TEST
from crossdistill.data.engines import installed_engines

INSTALLED = installed_engines()
needs_flite_and_festival = pytest.mark.skipif(
    not {"flite", "festival"} <= set(INSTALLED),
    reason="flite and festival are not both installed (scripts/install-system-packages.sh)",
)
SENTENCES = {"train": [f"T{i} A B" for i in range(30)], "dev": ["D A B", "D C E"], "test": ["E1 A B", "E2 C D", "E3"]}
FESTIVAL = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")


HELD_OUT = {"engines": "espeak,flite,festival", "split": "unseen-engine", "held_out_engine": "festival"}


def _files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@needs_flite_and_festival
def test_a_tiny_unseen_engine_corpus_keeps_the_engine_in_its_own_test_set(tmp_path, monkeypatch):
    root = synthesize_asr_corpus(tmp_path / "c", "tiny", seed=0, jobs=2, progress=False, **HELD_OUT)
    corpus = load_asr_corpus(root, progress=False)
    assert list(corpus.splits) == ["train", "dev", "test", UNSEEN_ENGINE_TEST]
    assert corpus.extra_test_splits() == (UNSEEN_ENGINE_TEST,)
    assert set(corpus.alignments) == set(corpus.splits)  # festival's own segment timings, as every engine's
    metadata = json.loads((root / "corpus.json").read_text())
    assert metadata["options"]["split"] == "unseen-engine" and metadata["options"]["held_out_engine"] == "festival"
    speakers = metadata["speakers"]
    engine_of = {split: {s.get("engine", "espeak") for s in speakers[split]} for split in speakers}
    assert engine_of[UNSEEN_ENGINE_TEST] == {"festival"}
    assert all("festival" not in engine_of[split] for split in ("train", "dev", "test"))
    ids = {split: {u.speaker for u in utterances} for split, utterances in corpus.splits.items()}
    assert sum(len(s) for s in ids.values()) == len(set().union(*ids.values()))  # speakers disjoint
    assert len(ids[UNSEEN_ENGINE_TEST]) == len(ids["test"]) == get_preset("tiny").speakers["test"]
    spoken = {split: sorted(" ".join(u.words) for u in corpus.splits[split]) for split in ("test", UNSEEN_ENGINE_TEST)}
    assert spoken["test"] == spoken[UNSEEN_ENGINE_TEST]  # the same sentences, other voices
    assert metadata["counts"][UNSEEN_ENGINE_TEST]["utterances"] == len(corpus.splits[UNSEEN_ENGINE_TEST])

    stamp = (root / "corpus.json").stat().st_mtime_ns
    assert synthesize_asr_corpus(root, "tiny", seed=0, progress=False, **HELD_OUT) == root
    assert (root / "corpus.json").stat().st_mtime_ns == stamp  # finished: returned as it is
    with pytest.raises(ValueError, match="other options"):
        synthesize_asr_corpus(root, "tiny", seed=0, progress=False, **{**HELD_OUT, "held_out_engine": "flite"})

    # Killed after two speakers, then resumed with one worker: the same bytes as the uninterrupted run with two.
    from crossdistill.data import synth as paper000_synth

    original = paper000_synth.run_in_fresh_processes

    def killed_after_two_speakers(*args, **kwargs):
        for i, result in enumerate(original(*args, **kwargs)):
            if i == 2:
                raise KeyboardInterrupt
            yield result

    monkeypatch.setattr(paper000_synth, "run_in_fresh_processes", killed_after_two_speakers)
    with pytest.raises(KeyboardInterrupt):
        synthesize_asr_corpus(tmp_path / "resumed", "tiny", seed=0, jobs=1, progress=False, **HELD_OUT)
    monkeypatch.setattr(paper000_synth, "run_in_fresh_processes", original)
    synthesize_asr_corpus(tmp_path / "resumed", "tiny", seed=0, jobs=1, progress=False, **HELD_OUT)
    assert _files(tmp_path / "resumed") == _files(root)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), held_out=st.sampled_from(["flite", "festival"]))
def test_train_dev_test_are_planned_as_without_the_held_out_engine(seed, held_out):
    voices = {"espeak": (), "flite": ("kal", "kal16", "awb", "rms", "slt"), "festival": FESTIVAL}
    seen = {engine: v for engine, v in voices.items() if engine != held_out}
    preset = get_preset("tiny")
    plans = plan_speakers(preset, seed, SENTENCES, voices, held_out)
    without = plan_speakers(preset, seed, SENTENCES, seen)
    assert plans[: len(without)] == without
    extra = plans[len(without) :]
    assert [p.split for p in extra] == [UNSEEN_ENGINE_TEST] * preset.speakers["test"]
    assert {p.config.engine for p in extra} == {held_out}
    assert [p.sentences for p in extra] == [p.sentences for p in without if p.split == "test"]
    assert len({p.speaker for p in plans}) == len(plans)
    # The held-out test set does not depend on which engines train: the settings of an engine study share it.
    espeak_only = plan_speakers(preset, seed, SENTENCES, {"espeak": (), held_out: voices[held_out]}, held_out)
    assert espeak_only[len(without) :] == extra


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--split", "unseen-engine"], "needs --held-out-engine"),
        (["--split", "unseen-engine", "--held-out-engine", "festival"], "is not one of --engines espeak"),
        (["--engines", "all", "--held-out-engine", "festival"], "goes with --split unseen-engine"),
        (["--engines", "all", "--split", "unseen-engine", "--held-out-engine", "mbrola"], "is unknown"),
        (["--engines", "festival", "--split", "unseen-engine", "--held-out-engine", "festival"], "another engine"),
    ],
)
def test_bad_held_out_engine_arguments_are_refused_before_anything_is_written(tmp_path, capsys, arguments, message):
    out = tmp_path / "c"
    assert main(["asr", "data", "synth", "--out", str(out), "--quiet", *arguments]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_split_kind_this_layout_has_not_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["asr", "data", "synth", "--out", str(tmp_path / "c"), "--split", "unseen-speaker"])
    assert "invalid choice: 'unseen-speaker'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="the LibriSpeech-layout corpus has random, unseen-engine"):
        synthesize_asr_corpus(tmp_path / "c", "tiny", split="unseen-utterance", progress=False)
    assert not (tmp_path / "c").exists()


def test_a_held_out_engine_that_is_not_installed_is_refused(tmp_path, monkeypatch):
    from crossdistill.data.engines import festival

    monkeypatch.setattr(festival, "program", lambda: None)  # as on a machine without the Debian package
    with pytest.raises(ValueError, match="'festival' is not installed: festival is not installed"):
        synthesize_asr_corpus(tmp_path / "c", "tiny", engines="espeak,festival", split="unseen-engine",
                              held_out_engine="festival", progress=False)  # fmt: skip
    assert not (tmp_path / "c").exists()
