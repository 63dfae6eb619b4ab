"""A finished run writes its selected model's per-utterance test correctness, matching its reported test error."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossdistill.data.corpus import load_corpus
from crossdistill.train.config import load_train_config
from crossdistill.train.run import train_intent
from crossdistill.train.utterance_correctness import (
    TEST_CORRECTNESS_FILE,
    read_test_correctness,
    write_test_correctness,
)

CONFIGS = Path(__file__).parents[2] / "configs" / "table1"


def test_run_writes_test_correctness_of_the_selected_epoch(pipeline, tmp_path):
    out = tmp_path / "run"
    metrics = train_intent(load_train_config(CONFIGS / "vanilla.yaml", pipeline.overrides(out, epochs=3, lr=0.005)))
    correctness = read_test_correctness(out / TEST_CORRECTNESS_FILE)
    test_ids = [u.utt_id for u in load_corpus(pipeline.corpus).splits["test"]]
    assert list(correctness) == test_ids
    errors = sum(not ok for ok in correctness.values())
    assert errors / len(test_ids) == pytest.approx(metrics["test_error"], abs=1e-6)


def test_round_trip_and_malformed_files(tmp_path):
    path = tmp_path / TEST_CORRECTNESS_FILE
    write_test_correctness(path, {"a.wav": True, "b.wav": False})
    assert read_test_correctness(path) == {"a.wav": True, "b.wav": False}
    path.write_text("utt_id,correct\na.wav,1\na.wav,0\n")
    with pytest.raises(ValueError, match=r"row 3: expected a new utt_id"):
        read_test_correctness(path)
    path.write_text("id,ok\n")
    with pytest.raises(ValueError, match="expected the header"):
        read_test_correctness(path)
