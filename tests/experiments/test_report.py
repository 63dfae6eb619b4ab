import json

import pytest

from crossdistill.experiments.report import (
    bootstrap_interval,
    collect_results,
    paired_comparison,
    render_table,
    sign_test_p,
    write_report,
)


def _fake_run(root, cell, seed, test_error, last_error):
    folder = root / cell / f"seed{seed}"
    folder.mkdir(parents=True)
    history = [{"epoch": e, "valid/error": 0.1 * e, "test/error": 0.1, "lambda/t/mean": 0.5} for e in (1, 2)]
    metrics = {"test_error": test_error, "last_test_error": last_error, "history": history}
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_sign_test_and_bootstrap_hand_values():
    assert sign_test_p([-1, -1, -1]) == pytest.approx(0.25)
    assert sign_test_p([-1, 1]) == 1.0
    assert sign_test_p([0, 0]) == 1.0
    low, high = bootstrap_interval([-2.0, -2.0, -2.0])
    assert low == high == -2.0


def test_report_table_rows_and_columns(tmp_path):
    for seed, (v, d) in enumerate([(0.10, 0.08), (0.12, 0.09), (0.11, 0.10)]):
        _fake_run(tmp_path, "vanilla", seed, v, v)
        _fake_run(tmp_path, "dropout_x_triangular", seed, d, d + 0.01)
    results = collect_results(tmp_path)
    assert results["vanilla"].mean == pytest.approx(11.0)
    cmp = paired_comparison(results["dropout_x_triangular"], results["vanilla"])
    assert cmp["wins"] == 3 and cmp["losses"] == 0 and cmp["beyond_seed_noise"]
    table = render_table(results, None)
    assert "| No distillation | Vanilla | 11.00 ± 1.00 |" in table
    assert "Triangular (6b) | n/a | n/a | 9.00 ± 1.00 (+18%) |" in table
    assert "Dropout (7c, proposed)" in table
    path = write_report(tmp_path)
    text = path.read_text()
    assert "dropout_x_triangular | 3 |" in text
    assert (tmp_path / "lambda_over_epochs.png").exists() and (tmp_path / "validation_error.png").exists()


def test_report_on_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no finished runs"):
        collect_results(tmp_path)
