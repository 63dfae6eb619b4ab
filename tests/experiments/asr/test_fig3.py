"""The Fig. 3 sweep: its report from hand-made runs (numbers, paired tests, findings, figures), and the whole command
at toy size on the tiny corpus, resumed without retraining anything."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest
from scipy import stats

from crossdistill.cli import main
from crossdistill.experiments.asr.fig3 import Fig3Settings, plan_runs
from crossdistill.experiments.asr.fig3_report import sentence_errors, write_fig3_report

# Test WER (%) per seed 0, 1, 2 of each point (whole numbers: a fake run has 100 reference words). LST swings
# with lambda and is above the baseline at 0.9; the multi-task head is below the baseline everywhere.
WERS = {
    ("supervised", None): [30.0, 32.0, 31.0],
    ("lst", 0.1): [28.0, 31.0, 31.0],
    ("lst", 0.9): [36.0, 39.0, 38.0],
    ("multitask", 0.1): [27.0, 30.0, 28.0],
    ("multitask", 0.9): [28.0, 29.0, 28.0],
}
ECE = {"supervised": 0.02, "lst": 0.05, "multitask": 0.021}


def write_fake_run(folder: Path, method: str, weight: float | None, seed: int, wer: float) -> None:
    """A finished run's metrics.json and test hypotheses (10 utterances of 10 words, errors spread to match WER)."""
    folder.mkdir(parents=True)
    errors = round(wer)  # of 100 reference words
    rows = [["utt_id", "errors", "reference_words", "reference", "hypothesis"]]
    for i in range(10):
        e = errors // 10 + (1 if i < errors % 10 else 0)
        rows.append([f"1-1-{i:04d}", str(e), "10", f"W{i} " * 10, "B " * 10])
    (folder / "hypotheses").mkdir()
    with open(folder / "hypotheses" / "test.tsv", "w", newline="") as handle:
        csv.writer(handle, delimiter="\t", lineterminator="\n").writerows(rows)
    metrics = {"objective": {"name": method, "weight": 0.0 if weight is None else weight}, "seed": seed,
               "test_wer": errors / 100, "dev_wer": errors / 100 + 0.01, "seconds": 10.0, "parameters": 1000,
               "decode": {"beam": 4}, "dev_ece": {"top1": ECE[method],
                                                  "top2": 2 * ECE[method] + (seed / 500 if method == "lst" else 0),
                                                  "top3": ECE[method] + seed / 1000}}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture
def fake_sweep(tmp_path: Path) -> Path:
    settings = Fig3Settings(seeds=(0, 1, 2), lambdas=(0.1, 0.9))
    for run in plan_runs(tmp_path, settings):
        write_fake_run(run.out, run.method, run.weight, run.seed, WERS[(run.method, run.weight)][run.seed])
    return tmp_path


def test_the_report_holds_means_paired_tests_and_the_papers_findings(fake_sweep):
    report = write_fig3_report(fake_sweep)
    data = json.loads((fake_sweep / "report.json").read_text())
    rows = {(r["method"], r["lambda"]): r for r in data["rows"]}
    for key, wers in WERS.items():
        assert rows[key]["test_wer_mean"] == pytest.approx(statistics.mean(wers))
        assert rows[key]["test_wer_std"] == pytest.approx(statistics.stdev(wers))
    differences = [a - b for a, b in zip(WERS[("lst", 0.9)], WERS[("supervised", None)], strict=True)]
    lst = rows[("lst", 0.9)]
    assert lst["differences_pp"] == pytest.approx(differences)
    assert lst["t_p"] == pytest.approx(stats.ttest_1samp(differences, 0.0).pvalue)
    half_width = stats.t.ppf(0.975, 2) * statistics.stdev(differences) / 3**0.5
    mean = statistics.mean(differences)
    assert lst["interval_pp"] == pytest.approx([mean - half_width, mean + half_width])
    # Per sentence (10 distinct ones here), word errors averaged over seeds: LST at 0.9 is worse on every sentence.
    sentence = lst["sentence_test"]
    assert (sentence["sentences"], sentence["reference_words"]) == (10, 100)
    assert sentence["difference_pp"] == pytest.approx(mean)
    assert sentence["worse"] + sentence["tied"] == 10 and sentence["better"] == 0
    # Holm over the four points: sorted p's times (m - rank), running maximum, capped at 1.
    tested = sorted((r for r in data["rows"] if r.get("t_p") is not None), key=lambda r: r["t_p"])
    running = 0.0
    for rank, row in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * row["t_p"]))
        assert row["t_p_holm"] == pytest.approx(running)
    assert len(tested) == 4
    assert rows[("multitask", 0.1)]["wins"] == 3 and rows[("lst", 0.9)]["losses"] == 3
    assert rows[("lst", 0.9)]["dev_ece_mean"]["top2"] == pytest.approx(0.102)
    found = data["findings"]
    assert found["lst_worse_than_baseline_at"] == [0.9]
    assert found["multitask_better_than_baseline_at"] == [0.1, 0.9]
    assert found["multitask_better_than_lst_at"] == [0.1, 0.9]
    # LST's top-2 ECE is 6.0, 6.2, 6.4 pp above the baseline's on seeds 0, 1, 2: beyond seed noise at both lambdas
    # (Holm over the two). Its top-1 difference is the same on every seed: above, but no spread to test.
    ece_t = stats.ttest_1samp([6.0, 6.2, 6.4], 0.0).pvalue
    assert rows[("lst", 0.9)]["ece_difference_pp"]["top2"] == pytest.approx(6.2)
    assert rows[("lst", 0.9)]["ece_t_p"]["top2"] == pytest.approx(ece_t)
    assert 2 * ece_t < 0.05
    assert found["ece_raised_at"]["lst"]["top2"] == {"above": [0.1, 0.9], "beyond_seed_noise": [0.1, 0.9]}
    assert found["ece_raised_at"]["lst"]["top1"] == {"above": [0.1, 0.9], "beyond_seed_noise": []}
    assert rows[("lst", 0.9)]["ece_t_p"]["top1"] is None
    assert found["lst_range_pp"] == pytest.approx(
        statistics.mean(WERS[("lst", 0.9)]) - statistics.mean(WERS[("lst", 0.1)])
    )
    text = report.read_text()
    row = "| LST, eq. 3 (T = 5) | 0.9 | 3 | 37.67 ± 1.53 | +6.67 [{:+.2f}, {:+.2f}] | 0/3 |".format(*lst["interval_pp"])
    assert row in text
    assert "10 test utterances reading 10 distinct sentences" in text
    assert "Wilcoxon test over the 10 distinct test sentences (100 reference words per seed)" in text
    assert "mean WER above the baseline at λ = 0.9;" in text
    for figure in ("fig3.png", "calibration.png"):
        assert (fake_sweep / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sentences_read_by_several_voices_are_one_unit_of_the_test_set():
    references = {"a1": "THE CAT", "a2": "THE CAT", "b1": "A DOG RAN"}
    errors = {0: {"a1": 1, "a2": 2, "b1": 0}, 1: {"a1": 0, "a2": 0, "b1": 3}}
    by_seed, words = sentence_errors(errors, references)
    assert by_seed == {0: {"THE CAT": 3, "A DOG RAN": 0}, 1: {"THE CAT": 0, "A DOG RAN": 3}}
    assert words == {"THE CAT": 4, "A DOG RAN": 3}


def test_a_preset_and_a_corpus_together_are_refused_before_any_work(tmp_path, capsys):
    argv = ["asr", "benchmark", "fig3", "--out", str(tmp_path / "out"), "--preset", "tiny", "--corpus", str(tmp_path)]
    assert main(argv) == 2
    assert "give --preset (tiny) or --corpus" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_sweep_settings_are_named():
    with pytest.raises(ValueError, match=r"--lambdas must lie in \[0, 1\].*1.5"):
        Fig3Settings(lambdas=(0.5, 1.5)).check()
    with pytest.raises(ValueError, match="--seeds lists a seed twice"):
        Fig3Settings(seeds=(1, 1)).check()


TOY = ["--subwords", "60", "--senones", "130", "--lm", "model.hidden_dim=16", "--lm", "model.embedding_dim=8",
       "--lm", "model.num_layers=1", "--lm", "epochs=1", "--lm", "trainer.accelerator=cpu",
       "model.d_model=16", "model.num_heads=2", "model.ff_dim=32", "model.encoder_layers=1", "model.decoder_layers=1",
       "model.conv_channels=4", "epochs=1", "batch_size=8", "warmup_steps=2", "decode.beam=2", "decode.max_tokens=20",
       "trainer.accelerator=cpu"]  # fmt: skip


def test_the_command_runs_a_toy_sweep_and_resumes_without_retraining(asr_tiny_corpus, tmp_path, capsys):
    out = tmp_path / "fig3"
    argv = ["asr", "benchmark", "fig3", "--out", str(out), "--corpus", str(asr_tiny_corpus), "--seeds", "0",
            "--lambdas", "0.5", *TOY]  # fmt: skip
    assert main(argv) == 0
    runs = sorted(out.glob("runs/**/seed0/metrics.json"))
    assert [str(p.relative_to(out / "runs")) for p in runs] == [
        "lst/lambda0.5/seed0/metrics.json",
        "multitask/lambda0.5/seed0/metrics.json",
        "supervised/seed0/metrics.json",
    ]
    stamps = [p.stat().st_mtime_ns for p in runs]
    table = (out / "report.md").read_text().split("## Test WER against λ")[1].split("Δ < 0")[0]
    assert main(argv) == 0
    assert "3 runs, 3 finished, 0 to do" in capsys.readouterr().out
    assert [p.stat().st_mtime_ns for p in runs] == stamps
    assert (out / "report.md").read_text().split("## Test WER against λ")[1].split("Δ < 0")[0] == table
    state = json.loads((out / "fig3.json").read_text())
    assert (state["settings"]["setup"]["preset"], state["settings"]["setup"]["corpus"]) == (None, str(asr_tiny_corpus))
    assert '"preset": null' in (out / "report.md").read_text()  # the report names the corpus read, not a preset
    assert {"units", "lm_subword", "posteriors_subword", "teacher_cache", "runs"} <= set(state["wall_seconds"])
    other = [*argv[:-1], "trainer.accelerator=cpu", "epochs=2"]
    assert main(other) == 2  # another sweep in the same folder is refused
    assert "train_overrides" in capsys.readouterr().err
