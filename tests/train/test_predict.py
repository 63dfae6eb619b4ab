"""``crossdistill predict``: a line per file (a result or an error), every slot with its probability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossdistill.cli import main
from crossdistill.data.corpus import load_corpus
from crossdistill.train.config import load_train_config
from crossdistill.train.predict import predict_files
from crossdistill.train.run import train_intent

CONFIGS = Path(__file__).parents[2] / "configs" / "table1"
SLOTS = ("action", "object", "location")


@pytest.fixture(scope="module", params=["intent", "slots"])
def trained(request, pipeline, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp(f"predict_{request.param}") / "run"
    overrides = pipeline.overrides(out, epochs=1, supervised=request.param)
    train_intent(load_train_config(CONFIGS / "vanilla.yaml", overrides))
    return out, request.param


def test_every_slot_has_a_value_and_a_probability(trained, pipeline):
    run, supervised = trained
    corpus = load_corpus(pipeline.corpus)
    wavs = [u.audio_path for u in corpus.splits["test"][:3]]
    records = list(predict_files(run, wavs))
    assert [ok for _, ok in records] == [True, True, True]
    for (record, _), wav in zip(records, wavs, strict=True):
        assert record["file"] == str(wav)
        assert (record["action"], record["object"], record["location"]) in set(corpus.labels.intents) or (
            supervised == "slots" and all(record[s] in corpus.labels.slot_values(s) for s in SLOTS)
        )
        for slot in SLOTS:
            assert 0 < record[f"{slot}_probability"] <= 1
            # A slot is at least as probable as the whole intent it belongs to.
            assert record[f"{slot}_probability"] >= record["intent_probability"] - 1e-12
        if supervised == "slots":
            product = record["action_probability"] * record["object_probability"] * record["location_probability"]
            assert record["intent_probability"] == pytest.approx(product)


def test_a_bad_file_gets_an_error_line_and_the_others_are_still_predicted(trained, pipeline, tmp_path, capsys):
    run, _ = trained
    good = load_corpus(pipeline.corpus).splits["test"][0].audio_path
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    missing = tmp_path / "missing.wav"
    assert main(["predict", "--model", str(run), str(broken), str(good), str(missing)]) == 1
    printed = capsys.readouterr()
    lines = [json.loads(line) for line in printed.out.splitlines()]
    assert [line["file"] for line in lines] == [str(broken), str(good), str(missing)]
    assert "broken.wav" in lines[0]["error"] and "error" not in lines[1] and "missing.wav" in lines[2]["error"]
    assert "action_probability" in lines[1]
    assert "2 of 3 files failed" in printed.err
