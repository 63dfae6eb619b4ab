"""Table 1: its report from hand-made runs (means, relative reduction, tests over seeds and over utterances, findings,
plots), and the whole command on the tiny corpus: a 2-cell grid that runs (two runs in processes of their own),
resumes without redoing finished work, refuses a changed config, and reports."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from crossdistill.cli import main
from crossdistill.experiments.asr.setup import AsrSetupSettings
from crossdistill.experiments.asr.table1 import CELLS, Table1Settings, cell_units
from crossdistill.experiments.asr.table1_report import write_table1_report
from crossdistill.experiments.significance import holm

# Per-utterance word errors (10 utterances of 10 words) of each cell for seeds 0, 1, 2: the baseline makes 20-24
# errors per seed, `subword` a few fewer, `all` clearly fewer.
RNG = np.random.default_rng(0)
BASE = RNG.integers(0, 5, size=(3, 10))
ERRORS = {"baseline": BASE, "subword": np.maximum(BASE - RNG.integers(0, 2, size=(3, 10)), 0),
          "all": np.maximum(BASE - RNG.integers(0, 3, size=(3, 10)), 0)}  # fmt: skip
ACCURACY = {"baseline": [0.60, 0.62, 0.61], "subword": [0.61, 0.62, 0.63], "all": [0.64, 0.67, 0.645]}


def write_fake_run(out: Path, cell: str, seed: int) -> None:
    """A finished, decoded run as table1 leaves it: config beside the folder, metrics.json, decode/test.*."""
    run = out / "runs" / cell / f"seed{seed}"
    (run / "decode").mkdir(parents=True)
    distill = "[]" if cell == "baseline" else f"[{', '.join(cell_units(cell))}]"
    run.with_suffix(".yaml").write_text(f"distill: {distill}\nsplits: {{train: train, dev: dev, test: test}}\n")
    errors = ERRORS[cell][seed]
    rows = [{"utt_id": f"1-1-{i:04d}", "reference": " ".join(["A"] * 10), "hypothesis": "", "substitutions": int(e),
             "deletions": 0, "insertions": 0, "oov": []} for i, e in enumerate(errors)]  # fmt: skip
    (run / "decode" / "test.utterances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    decoded = {"wer": errors.sum() / 100, "substitutions": int(errors.sum()), "deletions": 0, "insertions": 0,
               "reference_words": 100, "utterances": 10, "search": {"beam": 8}, "word_lm": {"file": "lm.bin"},
               "tuning": {"grid": [{"wer": 0.3}, {"wer": 0.25}]}}  # fmt: skip
    (run / "decode" / "test.json").write_text(json.dumps(decoded))
    metrics = {"test_frame_accuracy": ACCURACY[cell][seed], "dev_frame_accuracy": ACCURACY[cell][seed] - 0.01,
               "seconds": 5.0, "parameters": 1234}  # fmt: skip
    (run / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture
def fake_grid(tmp_path: Path) -> Path:
    for cell in ERRORS:
        for seed in range(3):
            write_fake_run(tmp_path, cell, seed)
    return tmp_path


def test_the_report_holds_means_relative_reduction_and_both_tests(fake_grid):
    report = write_table1_report(fake_grid)
    rows = {r["cell"]: r for r in json.loads((fake_grid / "report.json").read_text())["rows"]}
    assert list(rows) == ["baseline", "subword", "all"]  # Table 1's order, not the folders' alphabetical one
    wers = {cell: [float(e.sum()) for e in ERRORS[cell]] for cell in ERRORS}  # % of 100 words
    for cell, values in wers.items():
        assert rows[cell]["test_wer_mean"] == pytest.approx(statistics.mean(values))
        assert rows[cell]["test_wer_std"] == pytest.approx(statistics.stdev(values))
        assert rows[cell]["test_frame_accuracy_mean"] == pytest.approx(100 * statistics.mean(ACCURACY[cell]))
    base = statistics.mean(wers["baseline"])
    p_t, p_u = {}, {}
    for cell in ("subword", "all"):
        row = rows[cell]
        assert row["relative_wer_reduction"] == pytest.approx(100 * (base - statistics.mean(wers[cell])) / base)
        differences = [a - b for a, b in zip(wers[cell], wers["baseline"], strict=True)]
        assert row["wer_t"]["differences_pp"] == pytest.approx(differences)
        p_t[cell] = stats.ttest_1samp(differences, 0.0).pvalue
        assert row["wer_t"]["p"] == pytest.approx(p_t[cell])
        accuracy = [100 * (a - b) for a, b in zip(ACCURACY[cell], ACCURACY["baseline"], strict=True)]
        assert row["accuracy_t"]["p"] == pytest.approx(stats.ttest_1samp(accuracy, 0.0).pvalue)
        per_utterance = (ERRORS[cell] - ERRORS["baseline"]).mean(axis=0)
        p_u[cell] = stats.wilcoxon(per_utterance[per_utterance != 0]).pvalue
        assert row["utterance"]["p"] == pytest.approx(p_u[cell])
        assert row["utterance"]["better"] == int((per_utterance < 0).sum())
    for cell in ("subword", "all"):
        assert rows[cell]["wer_t"]["p_holm"] == pytest.approx(holm(p_t)[cell])
        assert rows[cell]["utterance"]["p_holm"] == pytest.approx(holm(p_u)[cell])
    found = json.loads((fake_grid / "report.json").read_text())["findings"]
    assert found["best_cell"] == "all" and found["best_single_lm"] == "subword"
    assert found["cells_better_than_baseline"] == ["subword", "all"]
    text = report.read_text()
    relative = rows["all"]["relative_wer_reduction"]
    assert f"`all` reduces the baseline's WER by {relative:+.1f} % relative" in text
    assert f"| all | senone + phone + subword | 3 | {100 * statistics.mean(ACCURACY['all']):.2f} ± " in text
    for figure in ("wer.png", "frame_accuracy.png"):
        assert (fake_grid / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_seed_is_reported_as_not_testable_over_seeds(tmp_path):
    for cell in ("baseline", "all"):
        write_fake_run(tmp_path, cell, 0)
    text = write_table1_report(tmp_path).read_text()
    assert "not testable with 1 seed (needs 3)" in text
    assert "with 1 seed the paired t-test is not testable" in text
    assert json.loads((tmp_path / "report.json").read_text())["rows"][1]["utterance"]["seeds"] == 1


def test_bad_grid_settings_are_named_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="--cells: give distinct cells among baseline, senone"):
        Table1Settings(cells=("baseline", "subwords")).check()
    with pytest.raises(ValueError, match="distil LMs \\['phone'\\] that the setup does not train"):
        Table1Settings(cells=("phone",), setup=AsrSetupSettings(lm_units=("senone",))).check()
    with pytest.raises(ValueError, match="--preset 'huge' is unknown"):
        Table1Settings(setup=AsrSetupSettings(preset="huge")).check()
    assert set(CELLS) == {p.stem for p in (Path(__file__).parents[3] / "configs" / "asr" / "hybrid").glob("*.yaml")}


TOY = ["--senones", "150", "--subwords", "100", "--min-leaf-frames", "20", "--lm", "model.embedding_dim=16",
       "--lm", "model.hidden_dim=32", "--lm", "model.num_layers=1", "--lm", "epochs=1",
       "--lm", "trainer.accelerator=cpu", "--lm-weights", "4", "--word-scores", "0", "--beam", "16",
       "model.d_model=32", "model.num_layers=1", "model.num_heads=2", "model.ff_dim=64", "model.conv_channels=4",
       "batch_size=4", "eval_batch_size=8", "epochs=1", "warmup_steps=5", "trainer.accelerator=cpu"]  # fmt: skip


def test_the_command_runs_a_two_cell_grid_resumes_and_refuses_a_changed_config(asr_tiny_corpus, tmp_path, capsys):
    out = tmp_path / "table1"
    argv = ["asr", "benchmark", "table1", "--out", str(out), "--corpus", str(asr_tiny_corpus), "--seeds", "0",
            "--cells", "baseline,subword", *TOY]  # fmt: skip
    assert main([*argv, "--jobs", "2"]) == 0  # the two runs train and decode in processes of their own
    runs = {cell: out / "runs" / cell / "seed0" for cell in ("baseline", "subword")}
    for cell, run in runs.items():
        assert json.loads((run / "metrics.json").read_text())["distill"] == ([] if cell == "baseline" else ["subword"])
        decoded = json.loads((run / "decode" / "test.json").read_text())
        assert decoded["tuning"]["split"] == "dev" and decoded["split"] == "test"
        assert run.with_suffix(".log").is_file()
    stamps = {p: p.stat().st_mtime_ns for run in runs.values() for p in (run / "metrics.json", run / "decode" /
                                                                         "test.json")}  # fmt: skip
    table = (out / "report.md").read_text().split("## Frame accuracy and WER per cell")[1].split("Mean ±")[0]
    assert "| subword | subword | 1 |" in table and "not testable with 1 seed (needs 3)" in table

    assert main(argv) == 0
    assert "2 runs, 2 finished, 0 to do" in capsys.readouterr().out
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())

    # A run killed after training but before its decoding was written: only the decoding is done again.
    (runs["subword"] / "decode" / "test.json").unlink()
    assert main(argv) == 0
    assert "2 runs, 1 finished, 1 to do" in capsys.readouterr().out
    assert (runs["subword"] / "decode" / "test.json").is_file()
    assert (runs["subword"] / "metrics.json").stat().st_mtime_ns == stamps[runs["subword"] / "metrics.json"]
    assert (out / "report.md").read_text().split("## Frame accuracy and WER per cell")[1].split("Mean ±")[0] == table

    assert main([*argv, "epochs=2"]) == 2  # another grid in the same folder is refused
    assert "train_overrides differ" in capsys.readouterr().err
    state = json.loads((out / "table1.json").read_text())
    assert {"units", "lms", "posteriors_subword", "runs"} <= set(
        state["wall_seconds"]
    )  # --jobs 2: the LMs trained in processes at once
