"""``crossdistill asr benchmark fig3``: paper 001's Fig. 3 over seeds, resumable stage by stage.

Stages, each skipped when its output is complete (so the same command resumes after a kill):

1. the shared inputs of paper 001's experiments (``setup.prepare_asr_setup`` with the subword LM only: corpus,
   units folder, fbank cache, the subword LSTM LM), then that LM's per-transcript cache of full next-token
   distributions (the teacher of every run; ``<out>/lms/subword/transcripts/<key>``);
2. the runs: the supervised baseline, LST (paper 001 eq. 3, T = 5.0) and the multi-task head (eq. 4, T = 1.0) at
   every lambda, for every seed, each in ``OUT/runs/<method>/lambda<value>/seed<k>`` (baseline:
   ``OUT/runs/supervised/seed<k>``) with its resolved config beside it (``seed<k>.yaml``; ``seed<k>.log`` holds the
   output of a run trained in a process of its own); a run resumes from its own checkpoint;
3. ``OUT/report.md`` with ``fig3.png`` and ``calibration.png`` (``fig3_report``).

``OUT/fig3.json`` records the settings (a folder holding another sweep is refused; more seeds or lambdas are
welcome), the commits the code ran at, and the command's wall time per stage (summed over restarts).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf
from tqdm.auto import tqdm

from crossdistill.common.progress import show_progress
from crossdistill.experiments.asr import bookkeeping
from crossdistill.experiments.asr.setup import AsrSetupSettings, prepare_asr_setup

STATE_FILE = "fig3.json"
METRICS_FILE = "metrics.json"
METHODS = ("lst", "multitask")
# The paper's axis values are not in its text; 0.1 .. 0.9 spans the interpolation range of eq. 3 on both sides of 0.5.
DEFAULT_LAMBDAS = (0.1, 0.3, 0.5, 0.7, 0.9)
DEFAULT_SEEDS = (0, 1, 2)


# Settings whose change would silently mix two sweeps in one folder (jobs and threads only change the speed; more
# seeds or lambdas add runs).
SWEEP_KEYS = ("setup", "train_overrides")


# The calibrated default sweep (docs/asr.md, "Fifth round"; docs/results/asr-fig3/): the `fig3_large` corpus
# (3,000 distinct training sentences), 256 subwords, and a model of width 96 with 4 encoder and 2 decoder layers,
# trained 25 epochs without SpecAugment and at dropout 0.1 (on 2 h of synthetic speech the LibriSpeech-sized masks
# held the dev token accuracy at 0.51 after 20 epochs, against 0.65 without them: probes E5 and E7), a warm-up of
# 1,000 steps (100 decayed the peak too soon: E2 against E5), joint CTC (ESPnet's; off in a plain run) and our
# auxiliary frame loss, without which the decoder did not learn to read the encoder on an hour of speech. The 33 runs
# take hours on 2 cores, not the hour the issue hoped for.
CALIBRATED_TRAIN = ("model.d_model=96", "model.encoder_layers=4", "model.decoder_layers=2", "model.ff_dim=384",
                    "model.conv_channels=16", "model.dropout=0.1", "specaugment.enabled=false", "batch_size=16",
                    "lr=0.002", "warmup_steps=1000", "frame_weight=0.5", "ctc_weight=0.3", "decode.ctc_weight=0.6",
                    "epochs=25")  # fmt: skip


def subword_setup() -> AsrSetupSettings:
    """The shared inputs with the subword LM only (the seq2seq model reads subwords; paper 001, Section 5.1)."""
    return AsrSetupSettings(preset="fig3_large", senones=500, subwords=256, lm_units=("subword",), jobs=2)


@dataclass(frozen=True)
class Fig3Settings:
    """What the sweep runs: the shared inputs (``setup``: corpus preset, units, the subword LM; its ``jobs`` is also
    the number of runs at once, each in its own process when > 1, and its ``threads`` the torch threads per run), the
    seeds and lambdas, and ``key=value`` settings of every run (``crossdistill.train.asr.seq2seq_config``)."""

    setup: AsrSetupSettings = field(default_factory=subword_setup)
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    lambdas: tuple[float, ...] = DEFAULT_LAMBDAS
    train_overrides: tuple[str, ...] = CALIBRATED_TRAIN

    def check(self) -> None:
        if not self.seeds:
            raise ValueError("--seeds: give at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"--seeds lists a seed twice: {list(self.seeds)}")
        if not self.lambdas:
            raise ValueError("--lambdas: give at least one value")
        bad = [value for value in self.lambdas if not 0.0 <= value <= 1.0]
        if bad:
            raise ValueError(f"--lambdas must lie in [0, 1] (LST interpolates, paper 001 eq. 3), got {bad}")
        if len(set(self.lambdas)) != len(self.lambdas):
            raise ValueError(f"--lambdas lists a value twice: {list(self.lambdas)}")
        self.setup.check()
        if "subword" not in self.setup.lm_units:
            raise ValueError(
                f"the sweep's teacher is the subword LM; the setup trains only {list(self.setup.lm_units)}"
            )


@dataclass(frozen=True)
class SweepRun:
    """One training run of the sweep."""

    method: str  # supervised, lst or multitask
    weight: float | None  # lambda (None for the baseline)
    seed: int
    out: Path

    @property
    def finished(self) -> bool:
        return (self.out / METRICS_FILE).is_file()

    @property
    def config_path(self) -> Path:
        """The run's resolved config, beside its folder (a run folder holds only what the run writes)."""
        return self.out.with_suffix(".yaml")

    @property
    def label(self) -> str:
        return self.method if self.weight is None else f"{self.method} lambda={self.weight:g}"


def lambda_folder(weight: float) -> str:
    return f"lambda{weight:g}"


def plan_runs(out: Path, settings: Fig3Settings) -> list[SweepRun]:
    """Every run of the sweep, baseline first, then each lambda's LST and multi-task runs, seed by seed."""
    runs = [SweepRun("supervised", None, seed, out / "runs" / "supervised" / f"seed{seed}") for seed in settings.seeds]
    for weight in settings.lambdas:
        for method in METHODS:
            runs += [
                SweepRun(method, weight, seed, out / "runs" / method / lambda_folder(weight) / f"seed{seed}")
                for seed in settings.seeds
            ]
    return runs


@dataclass
class SharedInputs:
    """The paths every run reads."""

    corpus: Path
    units: Path
    lm: Path
    features_cache: Path
    teacher_cache: Path


def run_overrides(run: SweepRun, inputs: SharedInputs, settings: Fig3Settings) -> list[str]:
    objective = [f"objective.name={run.method}"]
    if run.weight is not None:
        objective.append(f"objective.weight={run.weight}")
    paths = {
        "corpus": inputs.corpus,
        "units": inputs.units,
        "lm": inputs.lm,
        "features_cache": inputs.features_cache,
        "teacher_cache": inputs.teacher_cache,
        "out": run.out,
    }
    return [
        *settings.train_overrides,
        *objective,
        *(f"{k}={v}" for k, v in paths.items()),
        f"seed={run.seed}",
        f"threads={settings.setup.threads}",
        "trainer.progress_bar=false",
    ]


def write_run_configs(runs: Sequence[SweepRun], inputs: SharedInputs, settings: Fig3Settings) -> None:
    """Check every run's config, then write the ones not written yet; a run planned with other settings is refused."""
    from crossdistill.train.asr.seq2seq_config import load_config

    bookkeeping.write_planned_configs(
        {run.config_path: OmegaConf.to_yaml(load_config(None, run_overrides(run, inputs, settings))) for run in runs}
    )


def prepare_inputs(out: Path, settings: Fig3Settings, progress: bool) -> SharedInputs:
    """Stage 1: the shared inputs with the subword LM, then its transcript cache (each kept when complete)."""
    from crossdistill.teachers.lm.posteriors import CacheOptions
    from crossdistill.teachers.lm.transcripts import build_transcript_cache

    setup = prepare_asr_setup(out, settings.setup, progress)
    for stage, seconds in setup.timings_s.items():
        _add_seconds(out, stage, seconds)
    lm = setup.lms / "subword"
    started = time.perf_counter()
    options = CacheOptions(lm=lm, corpus=setup.corpus, units=setup.units, top_k=0, threads=settings.setup.threads,
                           progress=progress)  # fmt: skip
    summary = build_transcript_cache(options)
    _add_seconds(out, "teacher_cache", time.perf_counter() - started)
    return SharedInputs(setup.corpus, setup.units, lm, setup.features_cache, Path(summary["cache"]))


def run_fig3(out: str | Path, settings: Fig3Settings) -> Path:
    """Run (or finish) the whole sweep into ``out``; returns the report's path."""
    settings.check()
    out = Path(out)
    progress = show_progress()
    _record_settings(out, settings)
    inputs = prepare_inputs(out, settings, progress)
    runs = plan_runs(out, settings)
    write_run_configs(runs, inputs, settings)
    todo = [run for run in runs if not run.finished]
    print(f"fig3: {len(runs)} runs, {len(runs) - len(todo)} finished, {len(todo)} to do", flush=True)
    clock = bookkeeping.StageClock(out / STATE_FILE, "runs")
    if settings.setup.jobs == 1:
        for run in tqdm(todo, desc="fig3", unit="run", disable=not progress):
            _train_in_process(run)
            clock.tick()
    else:
        with ThreadPoolExecutor(max_workers=settings.setup.jobs) as pool:
            for _ in tqdm(pool.map(_train_subprocess, todo), total=len(todo), desc="fig3", disable=not progress):
                clock.tick()
    clock.tick()
    # Imported here, not when the sweep starts: a sweep that outlives a code update reports with the new code.
    from crossdistill.experiments.asr.fig3_report import write_fig3_report

    return write_fig3_report(out)


def _train_in_process(run: SweepRun) -> None:
    from crossdistill.train.asr.seq2seq import load_config, train

    train(load_config(run.config_path))


def _train_subprocess(run: SweepRun) -> None:
    log = run.out.with_suffix(".log")
    with open(log, "a", encoding="utf-8") as handle:
        code = subprocess.call(
            [sys.executable, "-m", "crossdistill.cli", "asr", "train", "--config", str(run.config_path)],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    if code != 0:
        raise RuntimeError(f"run {run.label} seed {run.seed} failed (exit {code}); see {log}")


def _record_settings(out: Path, settings: Fig3Settings) -> None:
    bookkeeping.record_benchmark_settings(out / STATE_FILE, settings, SWEEP_KEYS, "fig3 sweep")


def _add_seconds(out: Path, stage: str, seconds: float) -> None:
    bookkeeping.add_seconds(out / STATE_FILE, stage, seconds)
