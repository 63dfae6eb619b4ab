"""``crossdistill asr benchmark fig3``: paper 001's Fig. 3 over seeds, resumable stage by stage.

Stages, each skipped when its output is complete (so the same command resumes after a kill):

1. the corpus (``crossdistill asr data synth --preset P``) unless ``--corpus`` names one;
2. its units folder (senone tree, sentencepiece subwords, LM text) and the fbank cache;
3. the subword LSTM LM and its per-transcript cache of full next-token distributions (the teacher of every run);
4. the runs: the supervised baseline, LST (paper 001 eq. 3, T = 5.0) and the multi-task head (eq. 4, T = 1.0) at
   every lambda, for every seed, each in ``OUT/runs/<method>/lambda<value>/seed<k>`` (baseline:
   ``OUT/runs/supervised/seed<k>``) with its resolved config beside it (``seed<k>.yaml``; ``seed<k>.log`` holds the
   output of a run trained in a process of its own); a run resumes from its own checkpoint;
5. ``OUT/report.md`` with ``fig3.png`` and ``calibration.png`` (``fig3_report``).

``OUT/fig3.json`` records the settings, the command's wall time per stage (summed over restarts) and the commit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from omegaconf import OmegaConf
from tqdm.auto import tqdm

from crossdistill.common import atomic_write_text
from crossdistill.common.progress import show_progress

STATE_FILE = "fig3.json"
METRICS_FILE = "metrics.json"
METHODS = ("lst", "multitask")
# The paper's axis values are not in its text; 0.1 .. 0.9 spans the interpolation range of eq. 3 on both sides of 0.5.
DEFAULT_LAMBDAS = (0.1, 0.3, 0.5, 0.7, 0.9)
DEFAULT_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Fig3Settings:
    """What the sweep runs.

    preset: corpus preset (``crossdistill.data.asr.synth``), used when ``corpus`` is None. corpus: an existing corpus
    folder instead. corpus_seed: the synthesis seed. subwords, senones: the units folder's sizes (senones only feed
    the units folder's tree; the seq2seq model reads subwords). lm_overrides: ``key=value`` settings of the subword LM
    (``crossdistill asr lm train``). seeds, lambdas: the sweep. train_overrides: ``key=value`` settings of every run
    (``crossdistill.train.asr.seq2seq_config``). jobs: runs at once (each in its own process when > 1). threads: torch
    threads per run.
    """

    preset: str = "default"
    corpus: str | None = None
    corpus_seed: int = 0
    subwords: int = 1000
    senones: int = 1000
    lm_overrides: tuple[str, ...] = ()
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    lambdas: tuple[float, ...] = DEFAULT_LAMBDAS
    train_overrides: tuple[str, ...] = ()
    jobs: int = 1
    threads: int = 1

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
        if self.jobs < 1 or self.threads < 1:
            raise ValueError(f"--jobs and --threads must be >= 1, got {self.jobs} and {self.threads}")
        if self.corpus is not None and not Path(self.corpus).is_dir():
            raise FileNotFoundError(f"--corpus {self.corpus} is not a folder")


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
        f"threads={settings.threads}",
        "trainer.progress_bar=false",
    ]


def write_run_configs(runs: Sequence[SweepRun], inputs: SharedInputs, settings: Fig3Settings) -> None:
    """Check every run's config, then write the ones not written yet; a run planned with other settings is refused
    (its folder would resume or skip a different run)."""
    from crossdistill.train.asr.seq2seq_config import load_config

    texts = {run: OmegaConf.to_yaml(load_config(None, run_overrides(run, inputs, settings))) for run in runs}
    for run, text in texts.items():
        path = run.config_path
        if path.is_file() and path.read_text(encoding="utf-8") != text:
            raise ValueError(f"{path} was planned with other settings; use a new --out or remove it and {run.out}")
    for run, text in texts.items():
        if not run.config_path.is_file():
            run.config_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(run.config_path, text)


def prepare_inputs(out: Path, settings: Fig3Settings, progress: bool) -> SharedInputs:
    """Stages 1-3: corpus, units (+ fbank cache), subword LM and its transcript cache (each kept when complete)."""
    from crossdistill.data.asr.synth import synthesize_asr_corpus
    from crossdistill.data.asr.units import UnitsOptions, build_units, units_inputs
    from crossdistill.teachers.lm.config import load_lm_train_config
    from crossdistill.teachers.lm.posteriors import CacheOptions
    from crossdistill.teachers.lm.training import train_lm
    from crossdistill.teachers.lm.transcripts import build_transcript_cache

    corpus = Path(settings.corpus) if settings.corpus is not None else out / "corpus"
    if settings.corpus is None:
        _timed(
            out,
            "corpus",
            lambda: synthesize_asr_corpus(
                corpus, settings.preset, seed=settings.corpus_seed, jobs=settings.jobs, progress=progress
            ),
        )
    features_cache, units = out / "cache", out / "units"
    options = UnitsOptions(senones=settings.senones, subwords=settings.subwords)
    options.check()
    _timed(
        out,
        "units",
        lambda: build_units(units_inputs(corpus, features_cache, progress), units, options, progress=progress),
    )
    lm = out / "lm" / "subword"
    lm_settings = [
        f"units={units}",
        "unit=subword",
        f"out={lm}",
        f"threads={settings.threads}",
        "trainer.progress_bar=false",
        *settings.lm_overrides,
    ]
    _timed(out, "lm", lambda: train_lm(load_lm_train_config(None, lm_settings)))
    cache = out / "lm" / "transcripts"
    _timed(
        out,
        "teacher_cache",
        lambda: build_transcript_cache(
            CacheOptions(
                lm=lm, corpus=corpus, units=units, top_k=0, out=cache, threads=settings.threads, progress=progress
            )
        ),
    )
    return SharedInputs(corpus, units, lm, features_cache, cache)


def run_fig3(out: str | Path, settings: Fig3Settings) -> Path:
    """Run (or finish) the whole sweep into ``out``; returns the report's path."""
    from crossdistill.experiments.asr.fig3_report import write_fig3_report

    settings.check()
    out = Path(out)
    progress = show_progress()
    _record_settings(out, settings)
    inputs = prepare_inputs(out, settings, progress)
    runs = plan_runs(out, settings)
    write_run_configs(runs, inputs, settings)
    todo = [run for run in runs if not run.finished]
    print(f"fig3: {len(runs)} runs, {len(runs) - len(todo)} finished, {len(todo)} to do", flush=True)
    started = time.perf_counter()
    if settings.jobs == 1:
        for run in tqdm(todo, desc="fig3", unit="run", disable=not progress):
            _train_in_process(run)
    else:
        with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
            list(tqdm(pool.map(_train_subprocess, todo), total=len(todo), desc="fig3", disable=not progress))
    _add_seconds(out, "runs", time.perf_counter() - started)
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


def _state(out: Path) -> dict:
    path = out / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _record_settings(out: Path, settings: Fig3Settings) -> None:
    """Write the settings (a folder holding another sweep is refused) and the commit the code runs at."""
    state = _state(out)
    current = json.loads(json.dumps(asdict(settings)))
    previous = state.get("settings")
    sweep_keys = ("preset", "corpus", "corpus_seed", "subwords", "senones", "lm_overrides", "train_overrides")
    if previous is not None and any(previous.get(k) != current[k] for k in sweep_keys):
        changed = [k for k in sweep_keys if previous.get(k) != current[k]]
        raise ValueError(f"{out} holds a fig3 sweep with other settings ({', '.join(changed)} differ); use a new --out")
    commits = state.get("commits", [])
    commit = _git_commit()
    if commit not in commits:
        commits.append(commit)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / STATE_FILE, json.dumps({**state, "settings": current, "commits": commits}, indent=2) + "\n")


def _add_seconds(out: Path, stage: str, seconds: float) -> None:
    state = _state(out)
    timings = state.setdefault("wall_seconds", {})
    timings[stage] = round(timings.get(stage, 0.0) + seconds, 1)
    atomic_write_text(out / STATE_FILE, json.dumps(state, indent=2) + "\n")


def _timed(out: Path, stage: str, work) -> None:
    started = time.perf_counter()
    work()
    _add_seconds(out, stage, time.perf_counter() - started)


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[4]
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return result.stdout.strip() + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
