import csv

from crossdistill.experiments.confidence_simulation import (
    SimulationGrid,
    make_toy_logits,
    run_simulation,
    simulate_confidence,
    summarize_simulation,
)
from crossdistill.kd import normalized_entropy_from_logits

SMALL = SimulationGrid(classes=(5, 31), n_masks=(10, 100), rates=(0.1, 0.3), sharpness=(0.0, 2.0, 6.0, 10.0))


def test_toy_teachers_sharpen_monotonically():
    import torch

    for family in ("peaked", "gaussian"):
        logits = make_toy_logits(family, 31, torch.tensor([0.0, 1.0, 3.0, 9.0]), seed=0)
        entropy = normalized_entropy_from_logits(logits)
        assert entropy[0].item() == 1.0 or abs(entropy[0].item() - 1.0) < 1e-9
        assert (entropy[1:] < entropy[:-1]).all()


def test_rows_cover_the_grid_and_uniform_teacher_has_zero_d():
    rows = simulate_confidence(SMALL)
    assert len(rows) == 2 * 2 * 2 * 2 * 4
    assert all(r["dropout_confidence"] == 0.0 for r in rows if r["sharpness"] == 0.0)
    assert all(r["dropout_confidence"] >= 0.0 for r in rows)


def test_d_grows_with_p_on_average():
    summary = summarize_simulation(simulate_confidence(SMALL), reference=(31, 100, 0.1))
    for family in ("peaked", "gaussian"):
        by_p = summary[family]["mean_D_by_p"]
        assert by_p["0.3"] > by_p["0.1"]


def test_run_writes_csv_png_and_summary(tmp_path):
    outputs = run_simulation(tmp_path, SMALL)
    with open(outputs["csv"]) as handle:
        header = next(csv.reader(handle))
    for column in ("C", "N", "p", "sharpness", "entropy_normalized", "dropout_confidence"):
        assert column in header
    assert outputs["peaked"].name == "confidence_simulation.png"
    assert outputs["peaked"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert outputs["summary"].stat().st_size > 0
    assert not list(tmp_path.glob(".*tmp*"))
