"""End to end on the tiny chain: a hybrid AM with all three auxiliary KD heads trains 2 epochs, logs every loss term,
selects on dev, and writes a model folder (weights, priors, units key) that reads back to the same frame accuracy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from crossdistill.data.asr.units import load_units
from crossdistill.train.asr.hybrid import load_config, load_trained_hybrid, train
from crossdistill.train.asr.hybrid_data import HybridDataModule
from crossdistill.train.asr.hybrid_inputs import open_hybrid_inputs
from crossdistill.train.asr.hybrid_module import build_eq4_objective, evaluate

CONFIGS = Path(__file__).parents[3] / "configs" / "asr" / "hybrid"
UNITS = ("senone", "phone", "subword")


@pytest.fixture(scope="module")
def all_heads_run(asr_pipeline, tmp_path_factory):
    out = tmp_path_factory.mktemp("hybrid") / "all"
    config = load_config(CONFIGS / "all.yaml", asr_pipeline.hybrid_overrides(out, **{"teachers.phone.weight": 0.5}))
    return out, config, train(config)


def test_two_epochs_with_three_aux_heads_log_every_term(all_heads_run):
    out, _, metrics = all_heads_run
    assert metrics["distill"] == list(UNITS) and metrics["epochs"] == 2
    assert json.loads((out / "metrics.json").read_text()) == metrics
    weights = {"senone": 1.0, "phone": 0.5, "subword": 1.0}
    for record in metrics["history"]:
        for role in ("train", "dev", "test"):
            part = record[role]
            assert set(part["kd"]) == set(UNITS)
            assert all(math.isfinite(v) and v >= 0 for v in part["kd"].values())
            # The logged total is paper 001 eq. 4 of the logged terms: CE + sum_j lambda_j * KD_j (frame means).
            combined = part["ce_senone"] + sum(weights[u] * part["kd"][u] for u in UNITS)
            assert part["loss"] == pytest.approx(combined, rel=1e-5)
            assert 0.0 <= part["frame_accuracy"] <= 1.0
    # Training learns: the second epoch's eq. 4 loss is below the first's.
    assert metrics["history"][1]["train"]["loss"] < metrics["history"][0]["train"]["loss"]
    lines = [line for line in (out / "train.log").read_text().splitlines() if " epoch {" in line]
    assert [json.loads(line.split(" epoch ", 1)[1]) for line in lines] == metrics["history"]


def test_the_selected_epoch_is_the_best_on_dev(all_heads_run):
    _, _, metrics = all_heads_run
    history = metrics["history"]
    best = max(r["dev"]["frame_accuracy"] for r in history)
    chosen = history[metrics["selected_epoch"] - 1]
    assert chosen["dev"]["frame_accuracy"] == best == metrics["dev_frame_accuracy"]
    assert metrics["selected_epoch"] == min(r["epoch"] for r in history if r["dev"]["frame_accuracy"] == best)
    assert metrics["test_frame_accuracy"] == chosen["test"]["frame_accuracy"]


def test_the_model_folder_reads_back_to_the_selected_epoch(all_heads_run, asr_pipeline):
    out, config, metrics = all_heads_run
    trained = load_trained_hybrid(out, asr_pipeline.units)
    units = load_units(asr_pipeline.units)
    assert trained.units_key == units.key == metrics["units_key"]
    assert trained.model.head_sizes == {"senone": units.size("senone"), "aux/senone": units.size("senone"),
                                        "aux/phone": 41, "aux/subword": units.size("subword")}  # fmt: skip
    # Priors: add-one smoothed counts of the training alignments' senones.
    with np.load(out / "model" / "priors.npz") as priors:
        counts = np.bincount(units.frames("train").labels["senone"], minlength=units.size("senone"))
        assert (priors["counts"] == counts).all()
        assert priors["priors"].sum() == pytest.approx(1.0)
        assert np.allclose(np.exp(trained.log_priors.numpy()), (counts + 1) / (counts.sum() + len(counts)), rtol=1e-6)
    # The exported weights give the test frame accuracy recorded for the selected epoch.
    torch.set_num_threads(1)
    inputs = open_hybrid_inputs(config, progress=False)
    data = HybridDataModule(inputs, 4, 8, 20, 0)
    teachers = {unit: (config.teachers[unit].weight, config.teachers[unit].temperature) for unit in UNITS}
    vocab = {unit: units.size(unit) for unit in UNITS}
    result = evaluate(trained.model, build_eq4_objective(teachers), data.eval_dataloader("test"), vocab)
    assert result["frame_accuracy"] == pytest.approx(metrics["test_frame_accuracy"], abs=1e-9)


def test_a_finished_run_is_returned_untouched(all_heads_run):
    out, config, metrics = all_heads_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert train(config) == metrics
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_the_baseline_has_the_senone_head_only(asr_pipeline, tmp_path):
    config = load_config(CONFIGS / "baseline.yaml", asr_pipeline.hybrid_overrides(tmp_path / "run", epochs=1))
    metrics = train(config)
    assert metrics["distill"] == [] and metrics["history"][0]["train"]["kd"] == {}
    record = metrics["history"][0]["train"]
    assert record["loss"] == pytest.approx(record["ce_senone"], rel=1e-6)
    assert load_trained_hybrid(tmp_path / "run").model.head_sizes.keys() == {"senone"}
