"""The held-out-engine split end to end on tiny data: synthesize it, train a student, and ``crossdistill evaluate``
scores both test sets (the usual speaker-disjoint one and the engine never heard)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossdistill.cli import main
from crossdistill.data.corpus import load_corpus
from crossdistill.data.engines import installed_engines
from crossdistill.train.config import load_train_config
from crossdistill.train.run import train_intent

CONFIGS = Path(__file__).parents[2] / "configs" / "table1"
OTHERS = [name for name in installed_engines() if name != "espeak"]


@pytest.mark.skipif(not OTHERS, reason="neither flite nor festival is installed (scripts/install-system-packages.sh)")
def test_a_student_is_scored_on_the_usual_test_set_and_on_the_unseen_engine(pipeline, tmp_path, capsys):
    held_out = OTHERS[-1]
    argv = ["data", "synth", "--out", str(tmp_path / "corpus"), "--preset", "tiny", "--speakers", "6",
            "--utterances-per-speaker", "6", "--engines", f"espeak,{held_out}", "--split", "unseen-engine",
            "--held-out-engine", held_out, "--quiet"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    corpus = load_corpus(tmp_path / "corpus")
    assert corpus.test_splits() == ("test", "test_unseen_engine")
    engine_of = {s["speaker_id"]: s.get("engine", "espeak") for s in corpus.metadata["speakers"]}
    for split, utterances in corpus.splits.items():
        engines = {engine_of[u.speaker_id] for u in utterances}
        assert engines == ({held_out} if split == "test_unseen_engine" else {"espeak"}), split
    speakers = [{u.speaker_id for u in utterances} for utterances in corpus.splits.values()]
    assert sum(map(len, speakers)) == len(set().union(*speakers))  # disjoint
    assert len(speakers[3]) == len(speakers[2])  # as many unseen-engine speakers as test speakers

    run = tmp_path / "run"
    overrides = [o for o in pipeline.overrides(run, epochs=1) if not o.startswith(("corpus=", "teacher_cache="))]
    train_intent(load_train_config(CONFIGS / "vanilla.yaml", [*overrides, f"corpus={tmp_path / 'corpus'}"]))
    out = tmp_path / "evaluation"
    assert main(["evaluate", "--model", str(run), "--corpus", str(tmp_path / "corpus"), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["test_sets"]) == {"test", "test_unseen_engine"}
    for split in ("test", "test_unseen_engine"):
        saved = json.loads((out / f"{split}.json").read_text())
        assert saved["utterances"] == len(corpus.splits[split]) == printed["test_sets"][split]["utterances"]
        assert saved["intent_error"] == printed["test_sets"][split]["intent_error"]
    assert printed["intent_error"] == printed["test_sets"]["test"]["intent_error"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--split", "unseen-engine"], "needs --held-out-engine"),
        (["--held-out-engine", "flite"], "goes with --split unseen-engine"),
        (["--split", "unseen-engine", "--held-out-engine", "flite"], "not one of --engines"),
        (["--split", "unseen-engine", "--held-out-engine", "mbrola", "--engines", "espeak,flite"], "unknown"),
        (["--split", "unseen-engine", "--held-out-engine", "espeak", "--engines", "espeak"], "another engine"),
    ],
)
def test_bad_held_out_engine_options_are_refused_before_work(tmp_path, capsys, extra, message):
    assert main(["data", "synth", "--out", str(tmp_path / "c"), "--preset", "tiny", *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
