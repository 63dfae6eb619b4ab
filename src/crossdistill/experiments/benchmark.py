"""The calibrated default benchmark in one call: the shared setup, paper 000's Table I grid over seeds, its report.

``crossdistill benchmark --out DIR`` is what produced ``docs/results/default-grid``; every stage resumes, so a killed
benchmark continues where it stopped when the command is given again.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from crossdistill.common import atomic_write_text
from crossdistill.experiments.setup import SetupSettings, prepare_setup, step

GRID_CONFIG = Path(__file__).resolve().parents[3] / "configs" / "grid" / "table1.yaml"
# The benchmark's corpus hears every installed synthesis engine (issue 15 item 5: the best setting that keeps the time
# budget; docs/data.md, "An engine never heard in training": eSpeak + flite met the 2x goal at eSpeak's cost, while
# augmentation cost about 4x). `--engines espeak` gives the eSpeak-only corpus the benchmark used before, byte for byte.
BENCHMARK_ENGINES = "all"


def benchmark_setup() -> SetupSettings:
    """The calibrated benchmark's setup: ``SetupSettings``' defaults with the corpus of ``BENCHMARK_ENGINES``."""
    return SetupSettings(corpus_engines=BENCHMARK_ENGINES)


@dataclass
class BenchmarkConfig:
    """A whole benchmark in one YAML file (``configs/benchmark/``), so that one command runs it.

    setup: the ``SetupSettings`` (corpus preset and split, student, pre-training and teacher budgets, jobs).
    seeds: the grid's seeds. grid: the grid config, relative to the benchmark file (or absolute).
    overrides: training ``key=value`` overrides for every grid run.
    """

    setup: SetupSettings = field(default_factory=benchmark_setup)
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    grid: str = str(GRID_CONFIG)
    overrides: list[str] = field(default_factory=list)


def load_benchmark_config(path: str | Path | None = None, setup: dict[str, Any] | None = None) -> BenchmarkConfig:
    """Schema <- the YAML file (if any) <- ``setup`` values given on the command line; checked (unknown keys, types,
    seeds, the grid file) before anything runs. ``grid`` comes back as an absolute path."""
    layers = [OmegaConf.structured(BenchmarkConfig)]
    where = ""
    if path is not None:
        path = Path(path)
        where = f" in {path}"
        if not path.is_file():
            raise FileNotFoundError(f"benchmark config {path} does not exist")
        layers.append(OmegaConf.load(path))
    layers.append(OmegaConf.create({"setup": setup or {}}))
    try:
        config: BenchmarkConfig = OmegaConf.to_object(OmegaConf.merge(*layers))
    except OmegaConfBaseException as error:
        raise ValueError(f"bad benchmark config{where}: {error}".splitlines()[0]) from error
    if not config.seeds or len(set(config.seeds)) != len(config.seeds):
        raise ValueError(f"seeds must list distinct integers, got {config.seeds}{where}")
    if config.setup.jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {config.setup.jobs}{where}")
    check_setup_settings(config.setup, where)
    grid = Path(config.grid)
    if not grid.is_absolute():
        grid = (path.parent if path is not None else Path.cwd()) / grid
    if not grid.is_file():
        raise FileNotFoundError(f"grid config {grid} does not exist{where}")
    return replace(config, grid=str(grid.resolve()))


def check_setup_settings(settings: SetupSettings, where: str = "") -> None:
    """Refuse an unknown corpus preset, split or engine, or bad teacher options, before the setup starts."""
    from crossdistill.data.engines import parse_engines
    from crossdistill.data.label_noise import check_label_noise
    from crossdistill.data.speakers import get_preset
    from crossdistill.data.splits import check_split_kind
    from crossdistill.teachers.text.model import ARCHS
    from crossdistill.teachers.text.training import TrainOptions

    try:
        get_preset(settings.corpus_preset)
        check_split_kind(settings.corpus_split, "corpus_split")
        if settings.corpus_engines is not None:
            parse_engines(settings.corpus_engines)
        if settings.corpus_label_noise is not None:
            check_label_noise(settings.corpus_label_noise)
        if settings.teacher_arch not in ARCHS:
            raise ValueError(f"teacher_arch must be one of {ARCHS}, got {settings.teacher_arch!r}")
        TrainOptions(arch=settings.teacher_arch, epochs=settings.teacher_epochs, seed=settings.seed)
    except ValueError as error:
        raise ValueError(f"bad benchmark setup{where}: {error}") from error


def check_grid(grid_config: Path, seeds: tuple[int, ...], overrides: tuple[str, ...]) -> None:
    """Plan the grid into a scratch folder with stand-in paths: a bad cell, override or primary pair stops the
    benchmark before its setup (minutes) rather than after."""
    import tempfile

    from crossdistill.experiments.grid import plan_grid

    with tempfile.TemporaryDirectory() as scratch:
        stand_ins = ["corpus=CORPUS", "acoustic=ACOUSTIC", "teacher_cache=CACHE", "teacher_dir=TEACHER"]
        plan_grid(grid_config, list(seeds), Path(scratch), [*stand_ins, *overrides])


def run_benchmark(
    out_dir: Path,
    settings: SetupSettings | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    grid_config: Path = GRID_CONFIG,
    overrides: tuple[str, ...] = (),
) -> dict:
    """Prepare the setup under ``out``, run the grid into ``out/grid`` and write ``out/grid/report.md``."""
    from crossdistill.experiments.grid import run_grid
    from crossdistill.experiments.report import write_report

    settings = settings or benchmark_setup()
    check_setup_settings(settings)
    check_grid(grid_config, tuple(seeds), tuple(overrides))
    out = Path(out_dir).absolute()
    setup = prepare_setup(out, settings)
    t = step(f"Table I grid: {len(seeds)} seeds, {settings.jobs} training processes at once")
    grid_overrides = [*setup.train_overrides(), f"teacher_dir={setup.teacher}", f"threads={settings.threads}",
                      *overrides]  # fmt: skip
    grid = run_grid(grid_config, list(seeds), out / "grid", grid_overrides, settings.jobs)
    report = write_report(out / "grid")
    summary = {
        "settings": asdict(settings),
        "corpus_options": _corpus_options(setup.corpus),
        "seeds": list(seeds),
        "grid_config": str(grid_config),
        "overrides": grid_overrides,
        "setup_timings_s": setup.timings_s,
        "grid_wall_seconds": grid["wall_seconds"],
        "this_call_grid_seconds": time.time() - t,
        "teacher_text_error": setup.teacher_text_error(),
        "acoustic_test": setup.pretrain_metrics.get("test", {}),
        "report": str(report),
    }
    atomic_write_text(out / "benchmark.json", json.dumps(summary, indent=2) + "\n")
    print(f"\nreport: {report}")
    return summary


def _corpus_options(corpus: Path) -> dict:
    """What the synthesizer recorded (preset, size, seed, held-out speakers, label noise, split)."""
    from crossdistill.data.corpus import METADATA_FILE

    path = Path(corpus) / METADATA_FILE
    return json.loads(path.read_text(encoding="utf-8")).get("options", {}) if path.is_file() else {}
