"""The benchmark config file (configs/benchmark/v2.yaml), its checks before any work, and a v2-shaped benchmark at
toy size: label noise, a grid with declared primary comparisons, the report's second-pass sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from crossdistill.cli import main
from crossdistill.data.speakers import get_preset
from crossdistill.experiments.benchmark import check_grid, load_benchmark_config, run_benchmark
from crossdistill.experiments.setup import SetupSettings

CONFIGS = Path(__file__).parents[2] / "configs"
V2 = CONFIGS / "benchmark" / "v2.yaml"


def test_shipped_v2_config_meets_issue_14():
    config = load_benchmark_config(V2)
    assert config.setup.corpus_preset == "v2" and len(config.seeds) >= 8
    assert config.setup.corpus_engines == "all"  # issue 15 item 5: the engine setting that kept the time budget
    preset = get_preset(config.setup.corpus_preset)
    assert preset.test_speakers >= 40 and preset.test_speakers * preset.utterances_per_speaker >= 2400
    assert preset.label_noise == 0.038
    grid = OmegaConf.load(config.grid)
    assert Path(config.grid) == (CONFIGS / "grid" / "table1_v2.yaml").resolve()
    assert grid.base.epochs >= 40 and grid.primary
    check_grid(Path(config.grid), tuple(config.seeds), ())  # every run of the shipped grid plans (no error)


def test_command_line_values_override_the_file():
    config = load_benchmark_config(V2, {"jobs": 1, "pretrain_epochs": 2})
    assert (config.setup.jobs, config.setup.pretrain_epochs, config.setup.corpus_preset) == (1, 2, "v2")
    assert load_benchmark_config(None).setup == SetupSettings(corpus_engines="all")
    assert load_benchmark_config(V2, {"corpus_engines": "espeak"}).setup.corpus_engines == "espeak"


def test_the_engines_option_overrides_the_benchmark_default(tmp_path, monkeypatch):
    from crossdistill.experiments import benchmark

    given = {}
    monkeypatch.setattr(benchmark, "run_benchmark", lambda out, setup, *args, **kwargs: given.setdefault("s", setup))
    assert main(["benchmark", "--out", str(tmp_path / "a")]) == 0
    assert given.pop("s").corpus_engines == "all"
    assert main(["benchmark", "--config", str(V2), "--engines", "espeak", "--out", str(tmp_path / "b")]) == 0
    assert given.pop("s").corpus_engines == "espeak"  # the eSpeak-only corpus of the results measured before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("setup: {corpus_presett: v2}", "Key 'corpus_presett' not in 'SetupSettings'"),
        ("setup: {jobs: two}", "could not be converted"),
        ("setup: {jobs: 0}", "jobs must be >= 1"),
        ("setup: {corpus_preset: huge}", "unknown preset 'huge'"),
        ("setup: {corpus_split: sideways}", "corpus_split 'sideways' is unknown"),
        ("setup: {corpus_label_noise: 1.0}", "--label-noise must lie in"),
        ("setup: {corpus_engines: mbrola}", "mbrola"),
        ("setup: {teacher_arch: gpt}", "bad benchmark setup"),
        ("seeds: [1, 1]", "seeds must list distinct integers"),
        ("grid: nowhere.yaml", "does not exist"),
        ("sedes: [1]", "Key 'sedes' not in 'BenchmarkConfig'"),
    ],
)
def test_a_bad_config_is_refused_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bench.yaml"
    path.write_text(text + "\n")
    with pytest.raises((ValueError, FileNotFoundError), match=message) as error:
        load_benchmark_config(path)
    assert str(path) in str(error.value)


def test_cli_refuses_a_bad_config_before_any_work(tmp_path, capsys):
    path = tmp_path / "bench.yaml"
    path.write_text("setup: {corpus_preset: huge}\n")
    assert main(["benchmark", "--config", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "unknown preset 'huge'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _grid_with_primary(tmp_path: Path, mini_grid: Path, primary: str) -> Path:
    path = tmp_path / "grid_v2.yaml"
    path.write_text(mini_grid.read_text() + f"primary:\n  - {primary}\n")
    return path


def test_a_bad_grid_stops_the_benchmark_before_its_setup(tmp_path, mini_grid):
    grid = _grid_with_primary(tmp_path, mini_grid, "[dropout_x_triangular, entropy_x_triangular]")
    with pytest.raises(ValueError, match="must name two different cells"):
        run_benchmark(tmp_path / "out", SetupSettings(corpus_preset="tiny"), (0,), grid)
    assert not (tmp_path / "out").exists()


def test_v2_shaped_benchmark_at_toy_size(tmp_path, mini_grid):
    settings = SetupSettings(corpus_preset="tiny", corpus_label_noise=0.15, student_preset="tiny", pretrain_epochs=1,
                             teacher_arch="scratch", teacher_epochs=2, jobs=1)  # fmt: skip
    grid = _grid_with_primary(tmp_path, mini_grid, "[dropout_x_triangular, vanilla]")
    out = tmp_path / "bench"
    summary = run_benchmark(out, settings, seeds=(0, 1), grid_config=grid, overrides=("epochs=2",))
    assert summary["corpus_options"]["label_noise"] == 0.15
    assert json.loads((out / "grid" / "grid.json").read_text())["primary"] == [["dropout_x_triangular", "vanilla"]]
    report = json.loads((out / "grid" / "report.json").read_text())
    (comparison,) = report["primary"]
    assert comparison["over_seeds"]["chosen"]["differences_pp"] and comparison["over_utterances"]["pairs"] > 0
    assert comparison["over_speakers"]["speakers"] == 1  # the tiny corpus has one test speaker
    assert set(report["protocols_pct"]["vanilla"]) == {"chosen", "last", "best"}
    diagnostic = report["confidence_diagnostic"]
    assert diagnostic["relabelled_utterances"] == 2
    teacher = json.loads((out / "teacher" / "metrics.json").read_text())
    # The teacher trains and is scored on the noisy labels: its train error is the diagnostic's, from the cache.
    assert teacher["splits"]["train"]["intent_error"] == pytest.approx(diagnostic["teacher_error_vs_labels"])
    text = (out / "grid" / "report.md").read_text()
    assert "paper 000's teacher: 3.78% train, 0% test" in text and "Against the clean labels" in text
