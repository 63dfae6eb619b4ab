"""The report of the Table 1 grid: frame accuracy and WER per cell, tests against the baseline, power, plots.

``OUT/report.md`` holds, per cell (the baseline and each subset of the three LMs): test and dev senone frame
accuracy and test WER, mean ± std over seeds; the relative WER reduction against the baseline (of the means, as
paper 001 reports it); a paired t-test over seeds of the WER and frame-accuracy differences (Holm over the cells;
"not testable with N seeds" below 3) with the difference it could detect; and a Wilcoxon signed-rank test of the
per-utterance word errors against the baseline's, seeds averaged per utterance (``significance.word_error_test``).
``wer.png`` and ``frame_accuracy.png`` plot every seed and the mean ± std per cell; ``report.json`` holds every
number of the report.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from crossdistill.common import atomic_path, atomic_write_text
from crossdistill.experiments.significance import (
    ALPHA,
    MIN_SEEDS_T_TEST,
    holm,
    seed_test,
    t_test_detectable_effect,
    word_error_test,
)

BASELINE = "baseline"
CELL_ORDER = ("baseline", "senone", "phone", "subword", "senone_phone", "senone_subword", "phone_subword", "all")
UNITS = ("senone", "phone", "subword")
# Paper 001, Table 1 (LibriSpeech 100 h): the baseline and the two rows its text names.
PAPER = {"baseline_wer": 7.98, "baseline_accuracy": 83.23, "all_wer": 7.26, "subword_wer": 7.38}


@dataclass
class CellResult:
    """One cell's finished runs: seed -> training metrics, decoding report, and per-utterance word errors."""

    cell: str
    distill: tuple[str, ...]
    metrics: dict[int, dict[str, Any]] = field(default_factory=dict)
    decodes: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: dict[int, dict[str, int]] = field(default_factory=dict)
    reference_words: dict[str, int] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return sorted(self.decodes)

    def wers(self) -> list[float]:
        """Test WER (%) per seed, in seed order."""
        return [100 * self.decodes[s]["wer"] for s in self.seeds]

    def accuracies(self, split: str = "test") -> list[float]:
        """Senone frame accuracy (%) of the selected epoch per seed."""
        return [100 * self.metrics[s][f"{split}_frame_accuracy"] for s in self.seeds]


def collect_cells(out: Path) -> list[CellResult]:
    """Every decoded run under ``out/runs/<cell>/seed<k>``, grouped by cell in Table 1's order."""
    cells: dict[str, CellResult] = {}
    for config_path in sorted((Path(out) / "runs").glob("*/seed*.yaml")):
        run = config_path.with_suffix("")
        config = OmegaConf.load(config_path)
        decoded = run / "decode" / f"{config.splits.test}.json"
        if not (run / "metrics.json").is_file() or not decoded.is_file():
            continue
        seed = int(run.name.removeprefix("seed"))
        cell = cells.setdefault(run.parent.name, CellResult(run.parent.name, tuple(config.distill)))
        cell.metrics[seed] = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
        cell.decodes[seed] = json.loads(decoded.read_text(encoding="utf-8"))
        rows = [json.loads(line) for line in decoded.with_suffix(".utterances.jsonl").read_text("utf-8").splitlines()]
        cell.errors[seed] = {r["utt_id"]: r["substitutions"] + r["deletions"] + r["insertions"] for r in rows}
        cell.reference_words |= {r["utt_id"]: len(r["reference"].split()) for r in rows}
    order = {name: i for i, name in enumerate(CELL_ORDER)}
    return sorted(cells.values(), key=lambda c: (order.get(c.cell, len(order)), c.cell))


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def compare(cells: list[CellResult]) -> dict[str, Any]:
    """Every cell's numbers, and each cell against the baseline on their shared seeds (Holm over the cells)."""
    baseline = next((c for c in cells if c.cell == BASELINE), None)
    rows = []
    for cell in cells:
        wer, wer_std = _mean_std(cell.wers())
        accuracy, accuracy_std = _mean_std(cell.accuracies())
        row: dict[str, Any] = {
            "cell": cell.cell,
            "distill": list(cell.distill),
            "seeds": cell.seeds,
            "test_wer": cell.wers(),
            "test_wer_mean": wer,
            "test_wer_std": wer_std,
            "test_frame_accuracy": cell.accuracies(),
            "test_frame_accuracy_mean": accuracy,
            "test_frame_accuracy_std": accuracy_std,
            "dev_frame_accuracy_mean": statistics.mean(cell.accuracies("dev")),
            "edits_mean": {
                k: statistics.mean(cell.decodes[s][k] for s in cell.seeds)
                for k in ("substitutions", "deletions", "insertions")
            },
            "dev_wer_tuned_mean": _tuned_dev_wer(cell),
            "train_seconds_mean": statistics.mean(cell.metrics[s]["seconds"] for s in cell.seeds),
        }
        if baseline is not None and cell is not baseline:
            row |= _against_baseline(cell, baseline)
        rows.append(row)
    for test in ("wer_t", "accuracy_t", "utterance"):
        tested = {str(i): r[test]["p"] for i, r in enumerate(rows) if r.get(test) and r[test]["p"] is not None}
        for i, adjusted in holm(tested).items():
            rows[int(i)][test]["p_holm"] = adjusted
    return {"rows": rows, "findings": findings(rows)}


def _tuned_dev_wer(cell: CellResult) -> float | None:
    """Mean dev WER (%) at the decoder weights chosen on dev (None: decoded without tuning)."""
    tunings = [cell.decodes[s].get("tuning") for s in cell.seeds]
    if any(t is None for t in tunings):
        return None
    return statistics.mean(100 * min(g["wer"] for g in t["grid"]) for t in tunings)


def _against_baseline(cell: CellResult, baseline: CellResult) -> dict[str, Any]:
    shared = [s for s in cell.seeds if s in baseline.decodes]
    wer = seed_test([100 * (cell.decodes[s]["wer"] - baseline.decodes[s]["wer"]) for s in shared])
    accuracy = seed_test([100 * (cell.metrics[s]["test_frame_accuracy"] - baseline.metrics[s]["test_frame_accuracy"])
                          for s in shared])  # fmt: skip
    base_wer = statistics.mean(100 * baseline.decodes[s]["wer"] for s in shared) if shared else None
    cell_wer = statistics.mean(100 * cell.decodes[s]["wer"] for s in shared) if shared else None
    utterances = word_error_test(
        {s: cell.errors[s] for s in shared}, {s: baseline.errors[s] for s in shared}, cell.reference_words
    )
    return {
        "shared_seeds": shared,
        "relative_wer_reduction": None if not base_wer else 100 * (base_wer - cell_wer) / base_wer,
        "wer_t": _seed_row(wer),
        "accuracy_t": _seed_row(accuracy),
        "utterance": None
        if utterances is None
        else {
            "seeds": utterances.seeds,
            "utterances": utterances.utterances,
            "reference_words": utterances.reference_words,
            "better": utterances.better,
            "worse": utterances.worse,
            "tied": utterances.tied,
            "difference_pp": utterances.difference_pp,
            "p": utterances.p,
            "detectable_pp": utterances.detectable_pp,
        },
    }


def _seed_row(test) -> dict[str, Any]:
    return {"differences_pp": list(test.differences), "mean_difference_pp": test.mean_difference if test.differences
            else None, "wins": test.wins, "losses": test.losses, "p": test.t_p, "note": test.t_note,
            "detectable_pp": test.detectable_pp}  # fmt: skip


def findings(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Paper 001's statements about Table 1, read off the measured means and tests."""
    by = {r["cell"]: r for r in rows}
    if BASELINE not in by or len(by) < 2:
        return {}
    lm_cells = [r for r in rows if r["cell"] != BASELINE]
    best = min(rows, key=lambda r: r["test_wer_mean"])
    singles = [by[u] for u in UNITS if u in by]
    result: dict[str, Any] = {
        "best_cell": best["cell"],
        "cells_better_than_baseline": [
            r["cell"] for r in lm_cells if r["test_wer_mean"] < by[BASELINE]["test_wer_mean"]
        ],
        "cells_beyond_seed_noise": [r["cell"] for r in lm_cells if _significant(r["wer_t"])],
        "cells_beyond_test_sampling": [r["cell"] for r in lm_cells if _significant(r.get("utterance"))],
        "lm_cells": [r["cell"] for r in lm_cells],
    }
    if singles:
        result["best_single_lm"] = min(singles, key=lambda r: r["test_wer_mean"])["cell"]
    if "all" in by:
        result["all_relative_wer_reduction"] = by["all"]["relative_wer_reduction"]
    return result


def _significant(test: dict[str, Any] | None) -> bool:
    return bool(test) and test.get("p_holm") is not None and test["p_holm"] < ALPHA


def _fmt_p(p: float | None) -> str:
    return "" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def _fmt_test(test: dict[str, Any]) -> str:
    if test["p"] is None:
        return test["note"]
    return f"{_fmt_p(test['p'])} (Holm {_fmt_p(test.get('p_holm'))})"


def _fmt_detectable(test: dict[str, Any]) -> str:
    return "n/a" if test["detectable_pp"] is None else f"{test['detectable_pp']:.2f}"


def cell_label(row: dict[str, Any]) -> str:
    return "baseline (no LM)" if not row["distill"] else " + ".join(row["distill"])


def render_main_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| cell | LMs distilled | seeds | test frame acc. (%) | dev frame acc. (%) | test WER (%) | S / D / I | "
        "rel. WER reduction (%) | Δ WER (pp) | wins/losses | paired t p, WER | detectable (pp) | "
        "Δ frame acc. (pp) | paired t p, frame acc. |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        edits = " / ".join(f"{r['edits_mean'][k]:.1f}" for k in ("substitutions", "deletions", "insertions"))
        start = (f"| {r['cell']} | {cell_label(r)} | {len(r['seeds'])} | {r['test_frame_accuracy_mean']:.2f} ± "
                 f"{r['test_frame_accuracy_std']:.2f} | {r['dev_frame_accuracy_mean']:.2f} | {r['test_wer_mean']:.2f} "
                 f"± {r['test_wer_std']:.2f} | {edits} |")  # fmt: skip
        if "wer_t" not in r:
            lines.append(start + " | | | | | | |")
            continue
        wer, accuracy = r["wer_t"], r["accuracy_t"]
        relative = "" if r["relative_wer_reduction"] is None else f"{r['relative_wer_reduction']:+.1f}"
        lines.append(
            f"{start} {relative} | {wer['mean_difference_pp']:+.2f} | {wer['wins']}/{wer['losses']} | "
            f"{_fmt_test(wer)} | {_fmt_detectable(wer)} | {accuracy['mean_difference_pp']:+.2f} | "
            f"{_fmt_test(accuracy)} |"
        )
    return "\n".join(lines)


def render_utterance_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| cell | seeds | test utterances | fewer / more / equal word errors | Δ WER (pp) | Wilcoxon p | "
        "detectable ≈ (pp) | beyond test-set sampling |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        u = r.get("utterance")
        if u is None:
            continue
        detectable = "n/a" if u["detectable_pp"] is None else f"{u['detectable_pp']:.2f}"
        verdict = "yes" if _significant(u) else "no"
        lines.append(
            f"| {r['cell']} | {u['seeds']} | {u['utterances']} | {u['better']} / {u['worse']} / {u['tied']} | "
            f"{u['difference_pp']:+.2f} | {_fmt_p(u['p'])} (Holm {_fmt_p(u.get('p_holm'))}) | {detectable} | "
            f"{verdict} |"
        )
    return "\n".join(lines)


def render_findings(found: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    if not found:
        return "Not enough finished runs (the baseline and at least one LM cell) to compare with the paper."
    paper_all = 100 * (PAPER["baseline_wer"] - PAPER["all_wer"]) / PAPER["baseline_wer"]
    paper_subword = 100 * (PAPER["baseline_wer"] - PAPER["subword_wer"]) / PAPER["baseline_wer"]

    def listed(cells: list[str]) -> str:
        return ", ".join(cells) if cells else "none"

    n_lm = len(found["lm_cells"])
    lines = [
        f"- **All three LMs give the lowest WER** (paper: yes, {PAPER['baseline_wer']} → {PAPER['all_wer']} %, "
        f"{paper_all:.1f} % relative): the lowest mean WER here is cell `{found['best_cell']}`"
        + (
            f"; `all` reduces the baseline's WER by {found['all_relative_wer_reduction']:+.1f} % relative."
            if found.get("all_relative_wer_reduction") is not None
            else " (`all` was not run)."
        ),
    ]
    if "best_single_lm" in found:
        lines.append(
            f"- **The subword LM is the best single LM** (paper: yes, {paper_subword:.1f} % relative): the best "
            f"single LM here is `{found['best_single_lm']}`."
        )
    lines += [
        f"- **Every LM helps** (paper: every row beats the baseline): mean WER below the baseline for "
        f"{listed(found['cells_better_than_baseline'])} ({len(found['cells_better_than_baseline'])} of {n_lm}).",
        f"- Beyond seed noise (paired t over seeds, Holm, 5 %): {listed(found['cells_beyond_seed_noise'])}; beyond "
        f"test-set sampling (Wilcoxon over utterances, Holm, 5 %): {listed(found['cells_beyond_test_sampling'])}.",
    ]
    return "\n".join(lines)


def render_power(rows: list[dict[str, Any]]) -> str:
    """What this design (seeds x test utterances) can detect."""
    seeds = max((len(r["seeds"]) for r in rows), default=0)
    compared = [r for r in rows if "wer_t" in r]
    seed_detectable = [r["wer_t"]["detectable_pp"] for r in compared if r["wer_t"]["detectable_pp"] is not None]
    utterance_detectable = [r["utterance"]["detectable_pp"] for r in compared
                            if r.get("utterance") and r["utterance"]["detectable_pp"] is not None]  # fmt: skip
    base = next((r for r in rows if r["cell"] == BASELINE), None)
    lines = []
    if seeds < MIN_SEEDS_T_TEST:
        lines.append(
            f"- **Seed noise:** with {seeds} seed{'s' if seeds != 1 else ''} the paired t-test is not testable (it "
            f"needs {MIN_SEEDS_T_TEST}; with 3 it detects, 4 times out of 5, a mean difference of "
            f"{t_test_detectable_effect(3):.1f} standard deviations of the per-seed differences). Nothing here "
            "separates a cell's effect from training randomness."
        )
    else:
        spread = f"{min(seed_detectable):.2f}-{max(seed_detectable):.2f} pp" if seed_detectable else "n/a"
        lines.append(
            f"- **Seed noise:** with {seeds} seeds the paired t-test detects (80 % power, 5 % level) a mean WER "
            f"difference of {t_test_detectable_effect(seeds):.1f} standard deviations of the per-seed differences: "
            f"{spread} at the spreads observed (each estimated from {seeds} differences, so a rough guide)."
        )
    if utterance_detectable:
        lines.append(
            f"- **Test-set sampling:** the utterance-level test detects WER differences of about "
            f"{min(utterance_detectable):.2f}-{max(utterance_detectable):.2f} pp (80 % power, paired-t "
            "approximation on the same per-utterance differences)."
        )
    if base is not None:
        paper_all = PAPER["baseline_wer"] - PAPER["all_wer"]
        scaled = base["test_wer_mean"] * paper_all / PAPER["baseline_wer"]
        lines.append(
            f"- The paper's effect for all three LMs (9.0 % relative) is {scaled:.2f} pp at this baseline's WER "
            f"({base['test_wer_mean']:.2f} %): compare it with the detectable differences above."
        )
    return "\n".join(lines)


def plot_cells(rows: list[dict[str, Any]], key: str, ylabel: str, title: str, path: Path) -> Path:
    """Every seed's value (dots) and the mean ± std (bar) per cell; the baseline's mean as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5.0, 1.0 * len(rows) + 2), 4.2))
    for i, r in enumerate(rows):
        values = r[key]
        ax.scatter([i] * len(values), values, color="tab:blue", alpha=0.6, s=18, zorder=3)
        ax.errorbar([i + 0.15], [r[f"{key}_mean"]], yerr=[r[f"{key}_std"]], fmt="s", color="black", capsize=4)
    base = next((r for r in rows if r["cell"] == BASELINE), None)
    if base is not None:
        ax.axhline(base[f"{key}_mean"], color="grey", linestyle="--", label="baseline mean")
        ax.legend(fontsize=8)
    ax.set_xticks(range(len(rows)), [r["cell"] for r in rows], rotation=30, ha="right")
    ax.set(ylabel=ylabel, title=title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def write_table1_report(out: str | Path) -> Path:
    """Write ``out/report.md``, ``wer.png``, ``frame_accuracy.png`` and ``report.json``; returns the report's path."""
    out = Path(out)
    cells = collect_cells(out)
    if not cells:
        raise FileNotFoundError(f"{out / 'runs'} holds no decoded run (runs/<cell>/seed<k> with decode/<test>.json)")
    compared = compare(cells)
    rows = compared["rows"]
    plot_cells(rows, "test_wer", "test WER (%)", "Paper 001 Table 1 on our data: WER per cell", out / "wer.png")
    plot_cells(rows, "test_frame_accuracy", "test senone frame accuracy (%)",
               "Paper 001 Table 1 on our data: frame accuracy", out / "frame_accuracy.png")  # fmt: skip
    state = json.loads((out / "table1.json").read_text(encoding="utf-8")) if (out / "table1.json").is_file() else {}
    first = cells[0]
    metrics, decoded = first.metrics[first.seeds[0]], first.decodes[first.seeds[0]]
    tuning = "tuned on dev per run" if decoded.get("tuning") else "the decoder's defaults (not tuned)"
    text = f"""# Paper 001, Table 1: distilling LMs over senones, phones and subwords into the hybrid AM (eq. 4)

Settings: {json.dumps(state.get("settings", {}))}
Code at commit(s): {", ".join(state.get("commits", ["unknown"]))}. Wall time of the command per stage (seconds,
summed over restarts): {json.dumps(state.get("wall_seconds", {}))}.
One run: {metrics["parameters"]:,} parameters (baseline), the epoch with the best dev frame accuracy; decoding: lexicon
+ {"trigram word LM" if decoded.get("word_lm") else "no word LM"}, beam {decoded["search"]["beam"]}, LM weight and
word score {tuning}; test split: {decoded["reference_words"]:,} words in {decoded["utterances"]} utterances.

## Frame accuracy and WER per cell

{render_main_table(rows)}

Mean ± std over seeds. Frame accuracy: the senone head's accuracy against the aligned senones at the checkpoint
chosen on dev. Relative WER reduction: (baseline − cell) / baseline of the mean WERs on shared seeds, as paper 001
reports it (> 0: fewer errors). Δ < 0 for WER (> 0 for frame accuracy) favours the cell. The paired t-tests run over
the per-seed differences (each seed trains the baseline and the cell with the same seed), Holm-adjusted over the
cells; they speak to **seed noise** and need at least {MIN_SEEDS_T_TEST} seeds. "Detectable" is the |Δ WER| the
t-test finds 4 times out of 5 at the spread observed.

## Test-set sampling: per-utterance word errors against the baseline

{render_utterance_table(rows) if len(rows) > 1 else "No LM cell to compare."}

Each test utterance is one matched pair: its word errors (S + D + I) with the cell minus with the baseline,
averaged over the shared seeds. The Wilcoxon signed-rank test (two-sided, zero differences dropped, Holm over the
cells) asks whether the cell makes fewer errors on utterances drawn like these; it conditions on the trained runs,
so it speaks to **test-set sampling**, not to seed noise, and speaks even with one seed.
(`crossdistill.experiments.significance.word_error_test` says why this test rather than NIST's MAPSSWE.)

## What the paper says and what we measured

{render_findings(compared["findings"], rows)}

## Power of this design

{render_power(rows)}

![WER per cell](wer.png)

![frame accuracy per cell](frame_accuracy.png)
"""
    atomic_write_text(out / "report.json", json.dumps(compared, indent=2, sort_keys=True) + "\n")
    atomic_write_text(out / "report.md", text)
    return out / "report.md"
