"""``crossdistill asr benchmark table1``: paper 001's Table 1 over seeds, resumable stage by stage.

Stages, each skipped when its output is complete (so the same command resumes after a kill):

1. the shared inputs (``setup.prepare_asr_setup``): corpus, units, the senone, phone and subword LMs with their
   frame-wise posterior caches, and the trigram word LM of decoding;
2. the runs: every cell (the baseline and each subset of the three LMs, ``configs/asr/hybrid/<cell>.yaml``: paper
   001 eq. 4 with one auxiliary head per LM of the subset) for every seed, in ``OUT/runs/<cell>/seed<k>/`` with its
   resolved config beside it (``seed<k>.yaml``; ``seed<k>.log`` holds the output of a run made in a process of its
   own). A run trains (``crossdistill asr train``: the checkpoint with the best dev frame accuracy) and then decodes
   the test split to WER (``crossdistill asr decode``: lexicon + trigram search, the LM weight and word score tuned
   on the dev split for each run, never on test); it is finished when ``decode/<test split>.json`` exists. A killed
   run resumes from its own checkpoint; a run whose planned config differs from the one beside it is refused;
3. ``OUT/report.md`` with its plots (``table1_report``).

``OUT/table1.json`` records the settings (a folder holding another grid is refused; more cells or seeds are
welcome), the commits the code ran at, and the command's wall time per stage (summed over restarts).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from tqdm.auto import tqdm

from crossdistill.common.progress import show_progress
from crossdistill.experiments.asr import bookkeeping
from crossdistill.experiments.asr.setup import AsrSetup, AsrSetupSettings, prepare_asr_setup
from crossdistill.experiments.setup import step
from crossdistill.train.asr.hybrid_decoding.options import DEFAULT_DECODE, DEFAULT_SEARCH

CONFIGS = Path(__file__).resolve().parents[4] / "configs" / "asr" / "hybrid"
# Table 1's cells: no LM, the three single LMs, the three pairs, all three (the paper reports six of these rows).
CELLS = ("baseline", "senone", "phone", "subword", "senone_phone", "senone_subword", "phone_subword", "all")
DEFAULT_SEEDS = (0, 1, 2)
STATE_FILE = "table1.json"
METRICS_FILE = "metrics.json"
DECODE_DIR = "decode"
# Settings whose change would silently mix two grids in one folder (jobs and threads only change the speed; more
# cells or seeds add runs).
GRID_KEYS = ("setup", "train_overrides", "decode")


@dataclass(frozen=True)
class DecodeSettings:
    """How every run is decoded (``crossdistill asr decode``, one definition of each default there).

    word_lm: search with the trigram word LM (paper 001's decoder; needs KenLM's lmplz), else the lexicon alone.
    tune: choose the LM weight and word score among ``lm_weights`` x ``word_scores`` by each run's dev WER (False:
    the decoder's defaults). beam: the beam size.
    """

    word_lm: bool = True
    tune: bool = True
    lm_weights: tuple[float, ...] = DEFAULT_DECODE.lm_weights
    word_scores: tuple[float, ...] = DEFAULT_DECODE.word_scores
    beam: int = DEFAULT_SEARCH.beam

    def check(self) -> None:
        if self.tune and (not self.lm_weights or not self.word_scores):
            raise ValueError("decoding: tuning needs at least one LM weight and one word score")
        self.options("test", "dev", "train").check()

    def options(self, test: str, dev: str, train: str, **paths: Any):
        """``HybridDecodeOptions`` of a run whose splits are ``test``, ``dev``, ``train``; ``paths`` sets
        features_cache, lm_cache, units and threads."""
        from crossdistill.train.asr.hybrid_decoding.options import HybridDecodeOptions

        return HybridDecodeOptions(
            split=test,
            search=dataclasses.replace(DEFAULT_SEARCH, beam=self.beam),
            use_lm=self.word_lm,
            variants_from=train,
            tune_split=dev if self.tune else None,
            lm_weights=self.lm_weights,
            word_scores=self.word_scores,
            **paths,
        )


# The calibrated `default` grid (docs/asr.md, "Calibrating the default grid"; docs/results/asr-table1/): sizes at which
# the 24 runs (8 cells x 3 seeds) with their setup fit about an hour on 2 cores with --jobs 2. The corpus is the
# `default` preset; 500 senones; LMs that each see 300,000 units per epoch (the LM default of 1M took 160-252 s per
# LM on this text); the AM with 2 layers of width 64, 5 epochs in batches of 8 utterances, SpecAugment on (paper 001).
CALIBRATED_LM = ("max_train_units=300000",)
CALIBRATED_TRAIN = ("model.d_model=64", "model.num_layers=2", "model.ff_dim=256", "model.conv_channels=8",
                    "epochs=5", "batch_size=8", "warmup_steps=50", "lr=0.003")  # fmt: skip


def calibrated_setup() -> AsrSetupSettings:
    return AsrSetupSettings(senones=500, lm_overrides=CALIBRATED_LM, jobs=2)


@dataclass(frozen=True)
class Table1Settings:
    """What the grid runs: the shared inputs (``setup``: corpus preset, units, LMs; its ``jobs`` is also the number
    of runs at once, each in its own process when > 1, and its ``threads`` the torch threads per run), the cells
    and seeds, ``key=value`` settings of every run (``crossdistill.train.asr.hybrid_config``), and the decoding."""

    setup: AsrSetupSettings = field(default_factory=calibrated_setup)
    cells: tuple[str, ...] = CELLS
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    train_overrides: tuple[str, ...] = CALIBRATED_TRAIN
    decode: DecodeSettings = field(default_factory=DecodeSettings)

    def check(self) -> None:
        self.setup.check()
        self.decode.check()
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"--seeds: give distinct seeds, got {list(self.seeds)}")
        unknown = [cell for cell in self.cells if cell not in CELLS]
        if unknown or not self.cells or len(set(self.cells)) != len(self.cells):
            raise ValueError(f"--cells: give distinct cells among {', '.join(CELLS)}; got {list(self.cells)}")
        needed = {unit for cell in self.cells for unit in cell_units(cell)}
        missing = sorted(needed - set(self.setup.lm_units))
        if missing:
            raise ValueError(f"cells {list(self.cells)} distil LMs {missing} that the setup does not train")
        if self.decode.word_lm:
            from crossdistill.data.asr.word_lm import find_kenlm_tool

            find_kenlm_tool("lmplz")  # MissingToolError names the install command, before anything runs


def cell_units(cell: str) -> tuple[str, ...]:
    """The LM units a cell distils (``distill`` of its YAML)."""
    return tuple(OmegaConf.load(CONFIGS / f"{cell}.yaml").get("distill", []))


@dataclass(frozen=True)
class Table1Run:
    """One training run of the grid, and where its test decoding lands."""

    cell: str
    seed: int
    out: Path

    @property
    def config_path(self) -> Path:
        """The run's resolved config, beside its folder (a run folder holds only what the run writes)."""
        return self.out.with_suffix(".yaml")

    @property
    def log_path(self) -> Path:
        return self.out.with_suffix(".log")

    def decoded(self, test_split: str) -> Path:
        return self.out / DECODE_DIR / f"{test_split}.json"


def plan_runs(out: Path, settings: Table1Settings) -> list[Table1Run]:
    """Every run, cell by cell in Table 1's order, seed by seed."""
    return [Table1Run(cell, seed, Path(out) / "runs" / cell / f"seed{seed}")
            for cell in settings.cells for seed in settings.seeds]  # fmt: skip


def run_overrides(run: Table1Run, setup: AsrSetup, settings: Table1Settings) -> list[str]:
    """A run's ``key=value`` settings: the grid's, then its inputs, folder and seed (threads are given when it runs:
    they change the speed, never the result)."""
    return [*settings.train_overrides, *setup.train_overrides(), f"out={run.out}", f"seed={run.seed}",
            "trainer.progress_bar=false"]  # fmt: skip


def write_run_configs(runs: Sequence[Table1Run], setup: AsrSetup, settings: Table1Settings) -> None:
    """Check every run's config, then write those not written yet; a run planned with other settings is refused."""
    from crossdistill.train.asr.hybrid_config import load_config

    texts = {}
    for run in runs:
        config = load_config(CONFIGS / f"{run.cell}.yaml", run_overrides(run, setup, settings))
        texts[run.config_path] = OmegaConf.to_yaml(config)
    bookkeeping.write_planned_configs(texts)


def planned_test_split(run: Table1Run) -> str:
    """The split a run reports (``splits.test`` of its config)."""
    return str(OmegaConf.load(run.config_path).splits.test)


def is_finished(run: Table1Run) -> bool:
    """Trained and its test split decoded (the decoding report is the last file a run writes)."""
    if not run.config_path.is_file() or not (run.out / METRICS_FILE).is_file():
        return False
    return run.decoded(planned_test_split(run)).is_file()


def train_and_decode(run: Table1Run, decode: DecodeSettings, word_lm_cache: Path, threads: int) -> dict[str, Any]:
    """Train one run (or resume it, or take it finished) and decode its test split; returns the decoding report."""
    from crossdistill.train.asr.hybrid import load_config, train
    from crossdistill.train.asr.hybrid_decoding.decode import decode_hybrid

    config = load_config(run.config_path, [f"threads={threads}"])
    train(config)
    options = decode.options(
        config.splits.test, config.splits.dev, config.splits.train, features_cache=Path(config.features_cache),
        lm_cache=word_lm_cache, units=Path(config.units), threads=threads,
    )  # fmt: skip
    return decode_hybrid(run.out, config.corpus, options, progress=False)


def _train_and_decode_logged(run: Table1Run, decode: DecodeSettings, word_lm_cache: Path, threads: int) -> None:
    """``train_and_decode`` in a worker process of its own, its output appended to ``run.log_path``."""
    with open(run.log_path, "a", encoding="utf-8") as log:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log.fileno(), 1)  # Lightning and the C++ libraries write to the file descriptors themselves
        os.dup2(log.fileno(), 2)
        train_and_decode(run, decode, word_lm_cache, threads)


def run_table1(out: str | Path, settings: Table1Settings) -> Path:
    """Run (or finish) the whole grid into ``out``; returns the report's path."""
    from crossdistill.experiments.asr.table1_report import write_table1_report

    settings.check()
    out = Path(out).absolute()
    progress = show_progress()
    record_settings(out, settings)
    runs = finish_runs(out, settings, progress, announce=step)
    print(f"table1: {len(runs)} runs finished", flush=True)
    return write_table1_report(out)


def finish_runs(out: Path, settings: Table1Settings, progress: bool, announce=None) -> list[Table1Run]:
    """Stages 1 and 2: the shared inputs, then every run not finished yet; returns the planned runs."""
    setup = prepare_asr_setup(out, settings.setup, progress, announce)
    for stage, seconds in setup.timings_s.items():
        add_seconds(out, stage, seconds)
    runs = plan_runs(out, settings)
    write_run_configs(runs, setup, settings)
    todo = [run for run in runs if not is_finished(run)]
    print(f"table1: {len(runs)} runs, {len(runs) - len(todo)} finished, {len(todo)} to do", flush=True)
    clock = bookkeeping.StageClock(Path(out) / STATE_FILE, "runs")
    jobs, threads = settings.setup.jobs, settings.setup.threads
    work = [(run, settings.decode, setup.word_lm_cache, threads) for run in todo]
    if jobs == 1 or len(todo) <= 1:
        for item in tqdm(work, desc="table1", unit="run", disable=not progress):
            if announce is not None:
                announce(f"training and decoding {item[0].cell}, seed {item[0].seed}")
            train_and_decode(*item)
            clock.tick()
    else:
        if announce is not None:
            announce(f"training and decoding {len(todo)} runs, {jobs} at a time (each logs to runs/<cell>/seed<k>.log)")
        # Fresh processes (spawn, one run each): nothing of one run's torch or Lightning state reaches another.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, max_tasks_per_child=1) as pool:
            futures = [pool.submit(_train_and_decode_logged, *item) for item in work]
            for future, (run, *_) in tqdm(zip(futures, work, strict=True), total=len(work), desc="table1",
                                          disable=not progress):  # fmt: skip
                try:
                    future.result()
                except Exception as error:
                    raise RuntimeError(
                        f"run {run.cell} seed {run.seed} failed ({error}); see {run.log_path}"
                    ) from error
                clock.tick()
    clock.tick()
    return runs


def read_state(out: Path) -> dict[str, Any]:
    return bookkeeping.read_state(Path(out) / STATE_FILE)


def record_settings(out: Path, settings: Table1Settings) -> None:
    """Write the settings (a folder holding another grid is refused) and the commit the code runs at."""
    bookkeeping.record_benchmark_settings(Path(out) / STATE_FILE, settings, GRID_KEYS, "Table 1 grid")


def add_seconds(out: Path, stage: str, seconds: float) -> None:
    bookkeeping.add_seconds(Path(out) / STATE_FILE, stage, seconds)
