import csv
import json

import pytest

from crossdistill.experiments.confidence_simulation import (
    OUTPUT_SITES,
    SimulationGrid,
    cache_readings,
    make_toy_logits,
    run_simulation,
    shift_check,
    simulate_confidence,
    summarize_simulation,
)
from crossdistill.kd import T_ONLY_SITES, normalized_entropy_from_logits

SMALL = SimulationGrid(classes=(5, 31), n_masks=(10, 100), rates=(0.1, 0.3), sharpness=(0.0, 2.0, 6.0, 10.0))


def test_toy_teachers_sharpen_monotonically():
    import torch

    for family in ("peaked", "gaussian"):
        logits = make_toy_logits(family, 31, torch.tensor([0.0, 1.0, 3.0, 9.0]), seed=0)
        entropy = normalized_entropy_from_logits(logits)
        assert entropy[0].item() == 1.0 or abs(entropy[0].item() - 1.0) < 1e-9
        assert (entropy[1:] < entropy[:-1]).all()


def test_rows_cover_the_grid_for_every_site():
    rows = simulate_confidence(SMALL)
    assert len(rows) == len(OUTPUT_SITES) * 2 * 2 * 2 * 2 * 4
    assert {r["site"] for r in rows} == set(OUTPUT_SITES) == {"centred_logits", "log_probs", "probs", "raw_logits"}
    assert all(r["dropout_confidence"] >= 0.0 for r in rows)
    # Dropping equal (centred or raw) logits changes nothing: a uniform teacher has D = 0 there.
    uniform = [r for r in rows if r["sharpness"] == 0.0 and r["site"] in ("centred_logits", "raw_logits")]
    assert uniform and all(r["dropout_confidence"] == 0.0 for r in uniform)


def test_d_grows_with_p_on_average():
    summary = summarize_simulation(simulate_confidence(SMALL), reference=(31, 100, 0.1))
    for site in OUTPUT_SITES:
        for family in ("peaked", "gaussian"):
            by_p = summary[site][family]["mean_D_by_p"]
            assert by_p["0.3"] > by_p["0.1"], (site, family)


def test_shift_check_separates_t_only_sites_from_raw_logits():
    check = shift_check(SMALL, reference=(31, 100, 0.1))
    for site in T_ONLY_SITES:
        for family in ("peaked", "gaussian"):
            assert check[site][family]["max_abs_change"] < 1e-9, (site, family)
    assert check["raw_logits"]["peaked"]["mean_abs_change"] > 0.05


def test_run_writes_csv_pngs_and_summary(tmp_path):
    outputs = run_simulation(tmp_path, SMALL)
    with open(outputs["csv"]) as handle:
        header = next(csv.reader(handle))
    for column in ("site", "C", "N", "p", "sharpness", "entropy_normalized", "dropout_confidence"):
        assert column in header
    assert outputs["peaked"].name == "confidence_simulation.png"
    for key in ("peaked", "gaussian", "sites"):
        assert outputs[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(outputs["summary"].read_text())
    assert set(summary["sites"]) == set(OUTPUT_SITES) and "shift_by_5" in summary
    assert not list(tmp_path.glob(".*tmp*"))


def test_cache_readings_recompute_the_cached_d(pipeline):
    readings = cache_readings(pipeline.teacher_cache)
    assert readings["cache_site"] == "centred_logits" and readings["n_masks"] == 20
    own = readings["sites"]["centred_logits"]
    assert own["mean_D"] == pytest.approx(readings["cache_mean_D"], rel=1e-5)
    for site in T_ONLY_SITES:
        values = readings["sites"][site]
        assert values["mean_D_shifted"] == pytest.approx(values["mean_D"], rel=1e-9)
        assert 0 < values["mean_recip_D"] <= 1
    raw = readings["sites"]["raw_logits"]
    assert raw["mean_D_shifted"] != pytest.approx(raw["mean_D"], rel=1e-3)
