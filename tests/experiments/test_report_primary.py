"""The report's second-pass sections: declared primary comparisons, three selection protocols, the speaker bootstrap,
the teacher against the paper's, and the grid's `primary` list."""

from __future__ import annotations

import csv
import json

import pytest
from omegaconf import OmegaConf
from scipy import stats

from crossdistill.experiments.grid import plan_grid
from crossdistill.experiments.protocols import best_errors, chosen_epochs, protocol_errors
from crossdistill.experiments.report import collect_results, write_report
from crossdistill.experiments.significance import holm
from crossdistill.train.utterance_correctness import TEST_CORRECTNESS_FILE, write_test_correctness

INTENT = ("activate", "lamp", "none")
TEST_SPEAKERS, PER_SPEAKER = 4, 5
PRIMARY = [["dropout_x_triangular", "vanilla"], ["dropout_x_triangular", "entropy_x_triangular"]]


def _fake_corpus(root):
    """An FSC-layout corpus with empty audio files (enough for load_corpus without audio checks)."""
    speakers = {"train": ["tr"], "valid": ["va"], "test": [f"te{k}" for k in range(TEST_SPEAKERS)]}
    (root / "data").mkdir(parents=True)
    for split, names in speakers.items():
        with open(root / "data" / f"{split}_data.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["", "path", "speakerId", "transcription", "action", "object", "location"])
            for k, (speaker, i) in enumerate((s, i) for s in names for i in range(PER_SPEAKER)):
                path = f"wavs/speakers/{speaker}/{i}.wav"
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_bytes(b"")
                writer.writerow([k, path, speaker, "turn on the lights", *INTENT])
    return root


def _test_ids():
    return [f"wavs/speakers/te{k}/{i}" for k in range(TEST_SPEAKERS) for i in range(PER_SPEAKER)]


def _fake_run(grid, corpus, cell, seed, test_errors, chosen, wrong):
    """A finished run whose epoch ``chosen`` has the lowest validation error; ``test_errors`` per epoch."""
    folder = grid / cell / f"seed{seed}"
    folder.mkdir(parents=True)
    history = [{"epoch": e, "valid/error": 0.05 if e == chosen else 0.2, "test/error": t}
               for e, t in enumerate(test_errors, start=1)]  # fmt: skip
    metrics = {"test_error": test_errors[chosen - 1], "last_test_error": test_errors[-1], "history": history}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "run_config.yaml").write_text(OmegaConf.to_yaml({"corpus": str(corpus)}))
    write_test_correctness(folder / TEST_CORRECTNESS_FILE, {u: i not in wrong for i, u in enumerate(_test_ids())})


@pytest.fixture
def grid(tmp_path):
    corpus = _fake_corpus(tmp_path / "corpus")
    grid = tmp_path / "grid"
    # vanilla: 4 of 20 wrong at the chosen epoch; dropout x triangular: 2 (one seed: 3); entropy x triangular: 3.
    for seed in range(6):
        _fake_run(grid, corpus, "vanilla", seed, [0.3, 0.2, 0.25], 2, {0, 1, 2, 3})
        dropout_wrong = {0, 1, 2} if seed == 5 else {0, 1}
        _fake_run(grid, corpus, "dropout_x_triangular", seed, [0.3, len(dropout_wrong) / 20, 0.05], 2, dropout_wrong)
        _fake_run(grid, corpus, "entropy_x_triangular", seed, [0.15, 0.3, 0.15], 1, {0, 1, 5})
    cells = ["vanilla", "entropy_x_triangular", "dropout_x_triangular"]
    (grid / "grid.json").write_text(json.dumps({"cells": cells, "primary": PRIMARY}))
    return grid


def test_protocols_read_the_history():
    history = {0: [{"epoch": 1, "valid/error": 0.2, "test/error": 0.3}, {"epoch": 2, "valid/error": 0.1,
                                                                           "test/error": 0.4}]}  # fmt: skip
    assert best_errors(history) == {0: pytest.approx(30.0)}

    class Cell:
        test_errors, last_errors, histories = {0: 40.0}, {0: 40.0}, history

    assert chosen_epochs(Cell) == [2]
    assert protocol_errors(Cell) == {"chosen": {0: 40.0}, "last": {0: 40.0}, "best": {0: pytest.approx(30.0)}}


def test_primary_comparisons_protocols_and_speaker_intervals(grid):
    text = write_report(grid).read_text()
    summary = json.loads((grid / "report.json").read_text())
    first, second = summary["primary"]
    assert (first["cell"], first["baseline"]) == ("dropout_x_triangular", "vanilla")
    # Over seeds, our protocol: differences of -10 pp (5 seeds) and -5 pp (seed 5), against a t-test by scipy.
    chosen = first["over_seeds"]["chosen"]
    assert chosen["differences_pp"] == pytest.approx([-10] * 5 + [-5])
    p_first = stats.ttest_1samp(chosen["differences_pp"], 0).pvalue
    p_second = stats.ttest_1samp(second["over_seeds"]["chosen"]["differences_pp"], 0).pvalue
    assert chosen["t_test_p"] == pytest.approx(p_first)
    adjusted = holm({"a": p_first, "b": p_second})  # Holm over the two declared comparisons only
    assert chosen["t_test_p_holm"] == pytest.approx(adjusted["a"])
    assert chosen["sign_test_p"] == pytest.approx(2 * 0.5**6)
    # The paper's protocol takes each run's best epoch: 5 % for dropout x triangular, 20 % for vanilla.
    assert first["over_seeds"]["best"]["differences_pp"] == pytest.approx([-15] * 6)
    assert summary["protocols_pct"]["entropy_x_triangular"]["best"] == {str(s): pytest.approx(15.0) for s in range(6)}
    # Over utterances: vanilla is wrong on 0-3, dropout on 0-1 (and 2 in seed 5): 2 x 5 + 1 discordant pairs.
    utterances = first["over_utterances"]
    assert (utterances["pairs"], utterances["right_only_with_cell"], utterances["right_only_with_baseline"]) == (
        120,
        11,
        0,
    )
    # Over speakers: all those errors come from test speaker te0, so the interval reaches 0.
    speakers = first["over_speakers"]
    assert speakers["speakers"] == TEST_SPEAKERS and speakers["estimate_pp"] == pytest.approx(-55 / 6)
    assert speakers["high_pp"] == 0.0 and speakers["low_pp"] < -20
    assert summary["speaker_bootstrap"]["vanilla"]["estimate_pp"] == pytest.approx(20.0)
    assert "## Primary comparisons, declared in advance" in text
    assert "best over all epochs (the paper's protocol, optimistic by construction)" in text
    assert "| dropout_x_triangular vs vanilla | chosen on validation (our protocol) | 6 | -9.17 | 6/0 |" in text
    assert "| vanilla | 6 | 20.00 ± 0.00 | 25.00 ± 0.00 | 20.00 ± 0.00 | 2 (median; 2-2) |" in text


def test_undeclared_or_unfinished_primary_cells_say_so(grid):
    info = json.loads((grid / "grid.json").read_text())
    info["primary"] = [["dropout_x_triangular", "error_rate_x_triangular"]]
    (grid / "grid.json").write_text(json.dumps(info))
    assert "not run (a cell has no finished run)" in write_report(grid).read_text()
    del info["primary"]
    (grid / "grid.json").write_text(json.dumps(info))
    assert "None declared" in write_report(grid).read_text()


def test_without_the_corpus_the_speaker_views_are_unavailable(grid, tmp_path):
    import shutil

    shutil.rmtree(tmp_path / "corpus")
    text = write_report(grid).read_text()
    assert "Unavailable: the grid's corpus could not be read" in text
    assert "unavailable (no corpus)" in text
    assert len(collect_results(grid)) == 3


def test_teacher_line_names_the_papers_teacher(tmp_path):
    from crossdistill.experiments.report import render_table

    results = {}
    text = render_table(results, {"train_error": 0.04, "valid_error": 0.0, "test_error": 0.0})
    assert "train 4.00% against the training labels" in text and "paper 000's teacher: 3.78% train, 0% test" in text


def _grid_yaml(tmp_path, primary):
    configs = OmegaConf.create({"cells": {"vanilla": "v.yaml", "dropout": "d.yaml"}, "primary": primary})
    (tmp_path / "v.yaml").write_text("supervised: intent\n")
    (tmp_path / "d.yaml").write_text("supervised: intent\n")
    path = tmp_path / "grid.yaml"
    path.write_text(OmegaConf.to_yaml(configs))
    return path


def test_grid_records_primary_before_any_run(tmp_path):
    path = _grid_yaml(tmp_path, [["dropout", "vanilla"]])
    runs, info = plan_grid(path, [0], tmp_path / "out", ["corpus=c", "acoustic=a"])
    assert info["primary"] == [["dropout", "vanilla"]] and len(runs) == 2


@pytest.mark.parametrize("primary", [[["dropout", "nothing"]], [["dropout", "dropout"]], [["dropout"]]])
def test_grid_refuses_a_primary_pair_that_is_not_two_of_its_cells(tmp_path, primary):
    path = _grid_yaml(tmp_path, primary)
    with pytest.raises(ValueError, match="must name two different cells"):
        plan_grid(path, [0], tmp_path / "out", ["corpus=c", "acoustic=a"])
    assert not (tmp_path / "out").exists()


def test_shipped_v2_grid_declares_the_issue_14_comparisons():
    from pathlib import Path

    grid = OmegaConf.load(Path(__file__).parents[2] / "configs" / "grid" / "table1_v2.yaml")
    assert [list(p) for p in grid.primary] == PRIMARY
    assert grid.base.epochs >= 40
