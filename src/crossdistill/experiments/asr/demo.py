"""Paper 001 at demo size: the second half of ``crossdistill demo``.

A small synthetic corpus (preset ``demo``: the text sample shipped in the package, so no Debian package is needed),
its units, the senone, phone and subword LM teachers with their frame-wise posterior caches, then the hybrid AM
twice, as Table 1's first and last rows: the baseline (senone cross-entropy only) and all three LMs distilled
through auxiliary heads (paper 001 eq. 4); both decoded to WER with the lexicon and the trigram word LM. It is a
one-seed, two-cell Table 1 grid (``table1``), so the folder also holds that grid's ``report.md``, and the full
benchmark resumes nothing from it but uses the same code. Every stage reuses what an earlier run left in ``out``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from crossdistill.common import atomic_write_text
from crossdistill.common.progress import show_progress
from crossdistill.experiments.asr.setup import AsrSetupSettings
from crossdistill.experiments.asr.table1 import DecodeSettings, Table1Settings, finish_runs, read_state, record_settings
from crossdistill.experiments.setup import step

# Sizes chosen so that this part takes about 4 minutes on a 2-core machine shared with other work (measured: see
# docs/asr.md, "The demo"): small LMs (4 epochs on the whole text sample), a 150-senone tree, a 2-layer AM trained for
# 5 epochs in batches of 4 utterances, the two cells in parallel processes. SpecAugment is off: over 5 epochs on 10
# minutes of speech it only slowed learning (dev frame accuracy 0.25 with it, 0.33 without, 300 senones).
DEMO_LM = ("model.embedding_dim=32", "model.hidden_dim=96", "model.num_layers=2", "epochs=4",
           "trainer.accelerator=cpu")  # fmt: skip
DEMO_TRAIN = ("model.d_model=64", "model.num_layers=2", "model.ff_dim=256", "model.conv_channels=8", "epochs=5",
              "batch_size=4", "warmup_steps=20", "lr=0.003", "specaugment.enabled=false",
              "trainer.accelerator=cpu")  # fmt: skip


@dataclass(frozen=True)
class AsrDemoSettings:
    """Sizes of the paper-001 demo: the shared inputs (``setup``; its ``jobs`` runs the two cells at once), the two
    cells compared, the seed, ``key=value`` settings of both runs, and the decoding (the word LM is used when KenLM's
    lmplz is installed, as ``make install`` does)."""

    setup: AsrSetupSettings = field(
        default_factory=lambda: AsrSetupSettings(
            preset="demo", senones=150, subwords=200, min_leaf_frames=40, lm_overrides=DEMO_LM, jobs=2
        )
    )
    cells: tuple[str, str] = ("baseline", "all")
    seed: int = 0
    train_overrides: tuple[str, ...] = DEMO_TRAIN
    decode: DecodeSettings = field(
        default_factory=lambda: DecodeSettings(lm_weights=(2.0, 4.0, 8.0), word_scores=(-8.0, -4.0, 0.0))
    )


def run_asr_demo(out: str | Path, settings: AsrDemoSettings = AsrDemoSettings()) -> dict[str, Any]:
    """Run every stage, print the small table and return its numbers (also written to ``out/results.json``)."""
    from crossdistill.data.asr.word_lm import kenlm_available
    from crossdistill.experiments.asr.table1_report import write_table1_report

    started = time.time()
    out = Path(out).absolute()
    step("paper 001: LM teachers over senones, phones and subwords -> the hybrid acoustic model (Table 1 at demo size)")
    decode = settings.decode
    if decode.word_lm and not kenlm_available():
        print("KenLM's lmplz is not installed (make install builds it): decoding with the lexicon alone")
        decode = dataclasses.replace(decode, word_lm=False)
    grid = Table1Settings(setup=settings.setup, cells=settings.cells, seeds=(settings.seed,),
                          train_overrides=settings.train_overrides, decode=decode)  # fmt: skip
    grid.check()
    record_settings(out, grid)
    runs = finish_runs(out, grid, show_progress(), announce=step)
    report = write_table1_report(out)
    rows = {row["cell"]: row for row in json.loads((out / "report.json").read_text(encoding="utf-8"))["rows"]}
    results = {
        "cells": {cell: _cell_numbers(rows[cell]) for cell in settings.cells},
        "comparison": _comparison(rows[settings.cells[1]]),
        "runs": {run.cell: str(run.out) for run in runs},
        "report": str(report),
        "word_lm": decode.word_lm,
        "settings": asdict(settings),
        "timings_s": read_state(out).get("wall_seconds", {}),
        "wall_seconds": round(time.time() - started, 1),
    }
    atomic_write_text(out / "results.json", json.dumps(results, indent=2) + "\n")
    print_asr_results(results, out)
    return results


def _cell_numbers(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "distill": row["distill"],
        "test_frame_accuracy": row["test_frame_accuracy"][0],
        "dev_frame_accuracy": row["dev_frame_accuracy_mean"],
        "test_wer": row["test_wer"][0],
        "edits": row["edits_mean"],
    }


def _comparison(row: dict[str, Any]) -> dict[str, Any]:
    utterance = row["utterance"]
    return {
        "relative_wer_reduction": row["relative_wer_reduction"],
        "wer_difference_pp": row["wer_t"]["mean_difference_pp"],
        "seed_test": row["wer_t"]["note"],
        "utterances": utterance["utterances"],
        "better": utterance["better"],
        "worse": utterance["worse"],
        "tied": utterance["tied"],
        "wilcoxon_p": utterance["p"],
        "detectable_pp": utterance["detectable_pp"],
    }


def print_asr_results(results: dict[str, Any], out: Path) -> None:
    header = "| hybrid AM (paper 001 eq. 4) | test frame acc. (%) | dev frame acc. (%) | test WER (%) | S / D / I |"
    lines = ["", header, "|---|---|---|---|---|"]
    for cell in results["cells"].values():
        name = "baseline: senone CE only" if not cell["distill"] else "+ " + ", ".join(cell["distill"]) + " LMs"
        edits = " / ".join(str(round(cell["edits"][k])) for k in ("substitutions", "deletions", "insertions"))
        lines.append(f"| {name} | {cell['test_frame_accuracy']:.2f} | {cell['dev_frame_accuracy']:.2f} | "
                     f"{cell['test_wer']:.2f} | {edits} |")  # fmt: skip
    c = results["comparison"]
    detectable = "none at this spread" if c["detectable_pp"] is None else f"about {c['detectable_pp']:.1f} pp"
    verdict = "beyond" if c["wilcoxon_p"] < 0.05 else "not beyond"
    lines += [
        "",
        f"WER {c['wer_difference_pp']:+.2f} pp with the LMs ({c['relative_wer_reduction']:+.1f} % relative reduction; "
        "paper 001: +9 % on 100 h of LibriSpeech). Decoding: lexicon + "
        + ("trigram word LM" if results["word_lm"] else "no word LM (lmplz missing)")
        + ", weights chosen on dev.",
        f"What one seed can say: over the {c['utterances']} test utterances, the LM-distilled model makes fewer word "
        f"errors on {c['better']}, more on {c['worse']}, as many on {c['tied']}; Wilcoxon signed-rank p = "
        f"{c['wilcoxon_p']:.3f}, so the difference is {verdict} test-set sampling for these two trained models "
        f"(detectable with 80 % power: {detectable}).",
        f"What it cannot say: whether the LMs or training randomness made the difference ({c['seed_test']}), nor "
        "anything about 100 h of real speech: this corpus has minutes of synthetic speech and tiny models.",
    ]
    table = "\n".join(lines)
    atomic_write_text(out / "results.md", table + "\n")
    print(table)
    print(f"\nPaper 001 part done in {results['wall_seconds'] / 60:.1f} min; everything is under {out} (the report: "
          f"{results['report']}). Table 1 over seeds on the calibrated corpus is")  # fmt: skip
    print("  crossdistill asr benchmark table1 --out runs/table1 --seeds 0,1,2 --jobs 2")
