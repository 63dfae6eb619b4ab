"""The README's main job: the whole pipeline of paper 000 on a small built-in synthetic corpus.

Synthesize a corpus, pre-train the acoustic module, fine-tune the text teacher, build its cache, then train a
vanilla student and a dropout-confidence x triangular KD student, and print a small table. Every step reuses what
an earlier run left in ``out`` (each writes atomically and is keyed by what produced it), so a second run is quick.
The confidence simulation of Fig. 2 runs first: it needs no data.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crossdistill.common import atomic_write_text
from crossdistill.common.environment import numeric_environment
from crossdistill.experiments.asr.demo import AsrDemoSettings, run_asr_demo
from crossdistill.experiments.confidence_simulation import SimulationGrid, run_simulation
from crossdistill.experiments.setup import SetupSettings, prepare_setup, step

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "table1"


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of the demo; the defaults finish within minutes on a 2-core CPU (the `small` corpus)."""

    setup: SetupSettings = field(default_factory=lambda: SetupSettings(corpus_preset="small"))
    student_epochs: int = 20
    kd_cell: str = "dropout_x_triangular"
    asr: AsrDemoSettings | None = field(default_factory=AsrDemoSettings)  # paper 001's part; None skips it


def run_demo(out_dir: Path, settings: DemoSettings = DemoSettings()) -> dict:
    """Run every stage and return the results table's numbers (also written to ``out/results.json``)."""
    from crossdistill.train.config import load_train_config
    from crossdistill.train.run import train_intent

    out = Path(out_dir).absolute()
    started = time.time()

    t = step("Fig. 2: dropout-confidence simulation")
    run_simulation(out / "confidence_simulation", SimulationGrid())
    timings = {"simulation": time.time() - t}

    setup = prepare_setup(out, settings.setup)
    timings.update(setup.timings_s)

    runs = {}
    for cell in ("vanilla", settings.kd_cell):
        t = step(f"training the student: {cell}")
        overrides = [*setup.train_overrides(), f"out={out / 'students' / cell}",
                     f"epochs={settings.student_epochs}", f"seed={settings.setup.seed}",
                     f"threads={settings.setup.threads}", "trainer.accelerator=cpu"]  # fmt: skip
        runs[cell] = train_intent(load_train_config(CONFIGS / f"{cell}.yaml", overrides))
        timings[cell] = time.time() - t

    pretrain = setup.pretrain_metrics
    results = {
        "teacher_text_error": setup.teacher_text_error(),
        "acoustic_frame_accuracy": {k: pretrain["test"][k] for k in ("phoneme_frame_accuracy", "word_frame_accuracy")},
        "students": {
            cell: {k: m[k] for k in ("test_error", "valid_error", "selected_epoch", "last_test_error")}
            for cell, m in runs.items()
        },
        "teacher_cache": str(setup.teacher_cache),
        "settings": asdict(settings),
        "environment": numeric_environment(),
        "timings_s": timings,
        "wall_seconds": time.time() - started,
    }
    atomic_write_text(out / "results.json", json.dumps(results, indent=2) + "\n")
    print_results(results, out)
    if settings.asr is not None:  # paper 001 at demo size, in out/asr (its own results.json and report.md)
        results["asr"] = run_asr_demo(out / "asr", settings.asr)
    return results


def print_results(results: dict, out: Path) -> None:
    teacher = results["teacher_text_error"]
    lines = [
        "",
        "| model | test error (%) | valid error (%) | epoch chosen on valid |",
        "|---|---|---|---|",
        f"| text teacher (MiniLM) | {100 * teacher['test']:.2f} | {100 * teacher['valid']:.2f} | |",
    ]
    for cell, m in results["students"].items():
        lines.append(f"| student: {cell} | {100 * m['test_error']:.2f} | {100 * m['valid_error']:.2f} | "
                     f"{m['selected_epoch']} |")  # fmt: skip
    env = results["environment"]
    lines += ["", f"Measured with torch {env['torch']} on {env['cpu']} ({env['cpu_capability']} kernels). Another CPU "
              "takes other vectorized code paths, which round differently, and can end a few utterances apart "
              "(docs/training.md, Reproducibility)."]  # fmt: skip
    table = "\n".join(lines)
    atomic_write_text(out / "results.md", table + "\n")
    print(table)
    print(f"\nDone in {results['wall_seconds'] / 60:.1f} min. Everything is under {out}.")
    print("One corpus and one seed say little: the full Table I grid over seeds is")
    print("  crossdistill grid --config configs/grid/table1.yaml --seeds 0,1,2 --out runs/grid \\")
    print(f"      corpus={out / 'corpus'} acoustic={out / 'acoustic'} \\")
    print(f"      teacher_cache={results['teacher_cache']} teacher_dir={out / 'teacher'}")
    print("  crossdistill report runs/grid")
    print("and the calibrated default benchmark (its own corpus, the grid, the report; 35 min measured on 2 cores) is")
    print("  crossdistill benchmark --out runs/benchmark --seeds 0,1,2 --jobs 2")
