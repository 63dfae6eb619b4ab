import json

import pytest

from crossdistill.experiments.report import (
    collect_results,
    compare_with_vanilla,
    render_table,
    write_report,
)
from crossdistill.train.utterance_correctness import TEST_CORRECTNESS_FILE, write_test_correctness


def _fake_run(root, cell, seed, test_error, last_error, correctness=None):
    folder = root / cell / f"seed{seed}"
    folder.mkdir(parents=True)
    history = [{"epoch": e, "valid/error": 0.1 * e, "test/error": 0.1, "lambda/t/mean": 0.5} for e in (1, 2)]
    metrics = {"test_error": test_error, "last_test_error": last_error, "history": history}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    if correctness is not None:
        write_test_correctness(folder / TEST_CORRECTNESS_FILE, correctness)


def _correctness(n_utterances, wrong):
    return {f"u{i:03d}": i not in wrong for i in range(n_utterances)}


def _verdicts(text, heading):
    """{cell: last column} of the table under ``heading``."""
    table = text.split(heading, 1)[1].split("\n\n", 2)[1]
    rows = [[c.strip() for c in line.strip()[1:-1].split("|")] for line in table.splitlines()[2:]]
    return {row[0]: row[-1] for row in rows}


def test_report_table_rows_and_columns(tmp_path):
    for seed, (v, d) in enumerate([(0.10, 0.08), (0.12, 0.09), (0.11, 0.10)]):
        _fake_run(tmp_path, "vanilla", seed, v, v)
        _fake_run(tmp_path, "dropout_x_triangular", seed, d, d + 0.01)
    results = collect_results(tmp_path)
    assert results["vanilla"].mean == pytest.approx(11.0)
    cmp = compare_with_vanilla(results)["dropout_x_triangular"]
    assert cmp.seeds.wins == 3 and cmp.seeds.losses == 0
    assert cmp.seeds.t_p == pytest.approx(0.0742, abs=1e-4)  # differences -2, -3, -1 pp: t = -3.46 on 2 df
    assert cmp.utterances is None
    table = render_table(results, None)
    assert "| No distillation | Vanilla | 11.00 ± 1.00 |" in table
    assert "Triangular (6b) | n/a | n/a | 9.00 ± 1.00 (+18%) |" in table
    assert "Dropout (7c, proposed)" in table
    text = write_report(tmp_path).read_text()
    assert "| dropout_x_triangular | 3 | 9.00 ± 1.00 | 10.00 | -2.00 | 3/0 | 0.074 (Holm 0.074) |" in text
    assert _verdicts(text, "(seed noise)") == {"vanilla": "", "dropout_x_triangular": "no"}
    assert "Unavailable: these runs have no `test_correctness.csv`" in text
    assert (tmp_path / "lambda_over_epochs.png").exists() and (tmp_path / "validation_error.png").exists()
    summary = json.loads((tmp_path / "report.json").read_text())
    assert summary["against_vanilla"]["dropout_x_triangular"]["seed_differences_pp"] == pytest.approx([-2, -3, -1])


def test_one_seed_grid_claims_nothing_about_seed_noise(tmp_path):
    # One seed, differences of one and of ten utterances: the old bootstrap called both "beyond seed noise".
    _fake_run(tmp_path, "vanilla", 0, 0.100, 0.1)
    _fake_run(tmp_path, "decay", 0, 0.100 + 1 / 600, 0.1)
    _fake_run(tmp_path, "dropout", 0, 0.100 - 10 / 600, 0.1)
    text = write_report(tmp_path).read_text()
    untestable = "not testable with 1 seed (needs 3)"
    assert _verdicts(text, "(seed noise)") == {"vanilla": "", "decay": untestable, "dropout": untestable}
    assert "| yes |" not in text


def test_utterance_level_test_speaks_for_one_seed(tmp_path):
    vanilla_wrong = set(range(120))
    _fake_run(tmp_path, "vanilla", 0, 0.2, 0.2, _correctness(600, vanilla_wrong))
    _fake_run(tmp_path, "dropout", 0, 40 / 600, 0.1, _correctness(600, set(range(30)) | set(range(500, 510))))
    _fake_run(tmp_path, "decay", 0, 0.2, 0.2, _correctness(600, vanilla_wrong))  # same predictions as vanilla
    results = collect_results(tmp_path)
    comparisons = compare_with_vanilla(results)
    assert comparisons["decay"].utterances.p == 1.0
    assert comparisons["dropout"].utterances.p < 1e-15
    text = write_report(tmp_path).read_text()
    assert _verdicts(text, "(test-set sampling)") == {"decay": "no", "dropout": "yes"}
    assert "| dropout | 1 | 600 | 90 | 10 | -13.33 | < 0.001 (Holm < 0.001) |" in text
    assert "| decay | 1 | 600 | 0 | 0 | +0.00 | 1.000 (Holm 1.000) |" in text
    assert set(_verdicts(text, "(seed noise)").values()) == {"", "not testable with 1 seed (needs 3)"}


def test_runs_without_predictions_in_a_cell_mark_it_unavailable(tmp_path):
    _fake_run(tmp_path, "vanilla", 0, 0.2, 0.2, _correctness(10, {0, 1}))
    _fake_run(tmp_path, "dropout", 0, 0.1, 0.1, _correctness(10, {0}))
    _fake_run(tmp_path, "decay", 0, 0.1, 0.1)  # an older run: metrics only
    text = write_report(tmp_path).read_text()
    assert "| decay | | | | | | | | unavailable (a run lacks test_correctness.csv) |" in text


def test_report_on_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no finished runs"):
        collect_results(tmp_path)
