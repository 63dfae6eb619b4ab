"""The report of the Fig. 3 sweep: WER against lambda for LST and the multi-task head, tests against the baseline,
and the calibration of the supervised head (paper 001, Section 5.1 and its fourth claim).

``OUT/report.md`` holds, per method and lambda: test WER mean ± std over seeds, the difference to the supervised
baseline with its 95 % interval and a paired t-test over seeds (Holm-adjusted over every point of the sweep), the
exact sign test (``crossdistill.experiments.significance``), a Wilcoxon signed-rank test over the distinct test
sentences (test-set sampling; ``sentence_errors`` says why sentences, not utterances), what each test can detect, and
the dev ECE of the top-1/2/3 classes with the paper's statements read off the means and tests. ``fig3.png`` plots
WER against lambda for both methods with the baseline's mean ± std as a band; ``calibration.png`` plots ECE_1..3
against lambda.
``report.json`` holds every number of the report.
"""

from __future__ import annotations

import csv
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossdistill.common import atomic_path, atomic_write_text
from crossdistill.experiments.significance import ALPHA, holm, seed_test, t_test_detectable_effect, word_error_test

METHOD_NAMES = {
    "supervised": "baseline (supervised)",
    "lst": "LST, eq. 3 (T = 5)",
    "multitask": "multi-task, eq. 4 (T = 1)",
}
RANKS = ("top1", "top2", "top3")


@dataclass
class PointResult:
    """One point of the sweep: a method at one lambda (None for the baseline), every finished seed's metrics."""

    method: str
    weight: float | None
    metrics: dict[int, dict[str, Any]]
    errors: dict[int, dict[str, int]]  # seed -> test utt_id -> word errors
    references: dict[str, str]  # test utt_id -> reference transcript

    @property
    def seeds(self) -> list[int]:
        return sorted(self.metrics)

    def wers(self) -> list[float]:
        """Test WER (%) per seed, in seed order."""
        return [100 * self.metrics[s]["test_wer"] for s in self.seeds]

    def ece(self, rank: str) -> list[float]:
        return [self.metrics[s]["dev_ece"][rank] for s in self.seeds]


def collect_points(out: Path) -> list[PointResult]:
    """Every finished run under ``out/runs``, grouped into points (baseline first, then by method and lambda)."""
    runs = Path(out) / "runs"
    points: dict[tuple[str, float | None], PointResult] = {}
    for path in sorted(runs.glob("**/seed*/metrics.json")):
        metrics = json.loads(path.read_text(encoding="utf-8"))
        method = metrics["objective"]["name"]
        weight = None if method == "supervised" else float(metrics["objective"]["weight"])
        point = points.setdefault((method, weight), PointResult(method, weight, {}, {}, {}))
        point.metrics[int(metrics["seed"])] = metrics
        with open(path.parent / "hypotheses" / "test.tsv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        point.errors[int(metrics["seed"])] = {row["utt_id"]: int(row["errors"]) for row in rows}
        point.references |= {row["utt_id"]: row["reference"] for row in rows}
    order = {"supervised": 0, "lst": 1, "multitask": 2}
    return sorted(points.values(), key=lambda p: (order[p.method], -1.0 if p.weight is None else p.weight))


def sentence_errors(
    errors: dict[int, dict[str, int]], references: dict[str, str]
) -> tuple[dict[int, dict[str, int]], dict[str, int]]:
    """Word errors per distinct test sentence (summed over the utterances that read it) for every seed, and each
    sentence's reference words (summed likewise).

    Why sentences: a synthetic test set has several voices read one sentence (`fig3_large`: 1,020 test utterances
    read 346 sentences, most of them 3 times; `fig3`: 340 read 70). Their errors are not independent (a word the
    model cannot spell is wrong in every reading), so a test over utterances would count one sentence's evidence
    several times and overstate it.
    """
    by_seed: dict[int, dict[str, int]] = {}
    for seed, per_utterance in errors.items():
        totals = by_seed.setdefault(seed, {})
        for utt, count in per_utterance.items():
            totals[references[utt]] = totals.get(references[utt], 0) + count
    words: dict[str, int] = {}
    for text in references.values():
        words[text] = words.get(text, 0) + len(text.split())
    return by_seed, words


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def compare(points: list[PointResult]) -> dict[str, Any]:
    """Every point against the baseline: per-seed WER differences (pp, paired by seed), tests, Holm over points."""
    baseline = next((p for p in points if p.method == "supervised"), None)
    if baseline is not None:  # per sentence once; word_error_test pairs each point with it on the seeds both have
        baseline_errors, words = sentence_errors(baseline.errors, baseline.references)
    rows = []
    for point in points:
        wer_mean, wer_std = _mean_std(point.wers())
        row = {
            "method": point.method,
            "lambda": point.weight,
            "seeds": point.seeds,
            "test_wer": point.wers(),
            "test_wer_mean": wer_mean,
            "test_wer_std": wer_std,
            "dev_wer_mean": statistics.mean(100 * point.metrics[s]["dev_wer"] for s in point.seeds),
            "dev_ece_mean": {rank: statistics.mean(point.ece(rank)) for rank in RANKS},
            "dev_ece_std": {rank: _mean_std(point.ece(rank))[1] for rank in RANKS},
            "train_seconds_mean": statistics.mean(point.metrics[s]["seconds"] for s in point.seeds),
        }
        if baseline is not None and point is not baseline:
            shared = [s for s in point.seeds if s in baseline.metrics]
            differences = [100 * (point.metrics[s]["test_wer"] - baseline.metrics[s]["test_wer"]) for s in shared]
            tests = seed_test(differences)
            ece_tests = {
                rank: seed_test([100 * (point.metrics[s]["dev_ece"][rank] - baseline.metrics[s]["dev_ece"][rank])
                                 for s in shared])
                for rank in RANKS
            }  # fmt: skip
            sentences = word_error_test(sentence_errors(point.errors, point.references)[0], baseline_errors, words)
            row |= {
                "differences_pp": list(tests.differences),
                "mean_difference_pp": tests.mean_difference,
                "wins": tests.wins,
                "losses": tests.losses,
                "t_p": tests.t_p,
                "t_note": tests.t_note,
                "interval_pp": tests.interval,
                "ece_difference_pp": {rank: test.mean_difference for rank, test in ece_tests.items()},
                "ece_t_p": {rank: test.t_p for rank, test in ece_tests.items()},
                "detectable_pp": tests.detectable_pp,
                "sign_p": tests.sign_p,
                "sign_note": tests.sign_note,
                "sentence_test": None
                if sentences is None
                else {
                    "sentences": sentences.utterances,
                    "reference_words": sentences.reference_words,
                    "better": sentences.better,
                    "worse": sentences.worse,
                    "tied": sentences.tied,
                    "difference_pp": sentences.difference_pp,
                    "p": sentences.p,
                    "detectable_pp": sentences.detectable_pp,
                },
            }
        rows.append(row)
    compared = [r for r in rows if r.get("t_p") is not None]
    adjusted = holm({str(i): r["t_p"] for i, r in enumerate(compared)})
    for i, row in enumerate(compared):
        row["t_p_holm"] = adjusted[str(i)]
    with_sentences = [r for r in rows if r.get("sentence_test")]
    adjusted = holm({str(i): r["sentence_test"]["p"] for i, r in enumerate(with_sentences)})
    for i, row in enumerate(with_sentences):
        row["sentence_test"]["p_holm"] = adjusted[str(i)]
    return {"rows": rows, "findings": findings(rows)}


def findings(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The paper's statements about Fig. 3 and its fourth claim (calibration), read off the measured means and
    tests (Holm over the λ values of a method for each ECE rank)."""
    by = {(r["method"], r["lambda"]): r for r in rows}
    base = by.get(("supervised", None))
    lambdas = sorted(
        {
            r["lambda"]
            for r in rows
            if r["lambda"] is not None and ("lst", r["lambda"]) in by and ("multitask", r["lambda"]) in by
        }
    )
    if base is None or not lambdas:
        return {}
    lst = [by[("lst", w)] for w in lambdas]
    mtl = [by[("multitask", w)] for w in lambdas]

    def significant(row: dict[str, Any]) -> bool:
        return row.get("t_p_holm") is not None and row["t_p_holm"] < ALPHA

    return {
        "lambdas": lambdas,
        "lst_range_pp": max(r["test_wer_mean"] for r in lst) - min(r["test_wer_mean"] for r in lst),
        "multitask_range_pp": max(r["test_wer_mean"] for r in mtl) - min(r["test_wer_mean"] for r in mtl),
        "lst_worse_than_baseline_at": [w for w, r in zip(lambdas, lst, strict=True) if r["mean_difference_pp"] > 0],
        "lst_significantly_worse_at": [
            w for w, r in zip(lambdas, lst, strict=True) if r["mean_difference_pp"] > 0 and significant(r)
        ],
        "multitask_better_than_baseline_at": [
            w for w, r in zip(lambdas, mtl, strict=True) if r["mean_difference_pp"] < 0
        ],
        "multitask_significantly_better_at": [
            w for w, r in zip(lambdas, mtl, strict=True) if r["mean_difference_pp"] < 0 and significant(r)
        ],
        "multitask_better_than_lst_at": [
            w for w, a, b in zip(lambdas, mtl, lst, strict=True) if a["test_wer_mean"] < b["test_wer_mean"]
        ],
        "ece_raised_at": {"lst": _ece_raised(lambdas, lst), "multitask": _ece_raised(lambdas, mtl)},
    }


def _ece_raised(lambdas: list[float], points: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Per ECE rank: the λ values whose mean dev ECE is above the baseline's, and those beyond seed noise (paired t
    over seeds, Holm over the λ values)."""
    raised = {}
    pairs = list(zip(lambdas, points, strict=True))
    for rank in RANKS:
        tested = {str(w): r["ece_t_p"][rank] for w, r in pairs if r["ece_t_p"][rank] is not None}
        adjusted = holm(tested) if tested else {}
        above = [w for w, r in pairs if r["ece_difference_pp"][rank] > 0]
        raised[rank] = {"above": above, "beyond_seed_noise": [w for w in above if adjusted.get(str(w), 1.0) < ALPHA]}
    return raised


def _fmt_p(p: float | None) -> str:
    return "" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def render_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| method | λ | seeds | test WER (%) | Δ vs baseline (pp) [95 % CI] | wins/losses | paired t p (Holm) | "
        "sign-test p | per-sentence Wilcoxon p (Holm) | dev WER (%) | dev ECE top-1 | top-2 | top-3 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lam = "" if r["lambda"] is None else f"{r['lambda']:g}"
        ece = " | ".join(f"{100 * r['dev_ece_mean'][k]:.2f} ± {100 * r['dev_ece_std'][k]:.2f}" for k in RANKS)
        wer = f"{r['test_wer_mean']:.2f} ± {r['test_wer_std']:.2f}"
        start = f"| {METHOD_NAMES[r['method']]} | {lam} | {len(r['seeds'])} | {wer} |"
        if "mean_difference_pp" not in r:
            lines.append(f"{start} | | | | | {r['dev_wer_mean']:.2f} | {ece} |")
            continue
        t = f"{_fmt_p(r['t_p'])} ({_fmt_p(r.get('t_p_holm'))})" if r["t_p"] is not None else r["t_note"]
        sign = _fmt_p(r["sign_p"]) or r["sign_note"]
        sentence = r.get("sentence_test")
        wilcoxon = "" if not sentence else f"{_fmt_p(sentence['p'])} ({_fmt_p(sentence.get('p_holm'))})"
        interval = "" if r["interval_pp"] is None else " [{:+.2f}, {:+.2f}]".format(*r["interval_pp"])
        lines.append(
            f"{start} {r['mean_difference_pp']:+.2f}{interval} | {r['wins']}/{r['losses']} | {t} | {sign} | "
            f"{wilcoxon} | {r['dev_wer_mean']:.2f} | {ece} |"
        )
    return "\n".join(lines)


def render_findings(found: dict[str, Any]) -> str:
    if not found:
        return "Not enough finished runs (the baseline and both methods at a shared λ) to read the findings."

    def listed(values: list[float]) -> str:
        return ", ".join(f"{v:g}" for v in values) if values else "none"

    n = len(found["lambdas"])
    return "\n".join(
        [
            f"- **LST is sensitive to λ** (paper: yes): its mean test WER spans {found['lst_range_pp']:.2f} pp over "
            f"the {n} λ values, the multi-task head's {found['multitask_range_pp']:.2f} pp.",
            f"- **LST is sometimes below the baseline** (paper: yes): mean WER above the baseline at λ = "
            f"{listed(found['lst_worse_than_baseline_at'])}; beyond seed noise (Holm, 5 %) at λ = "
            f"{listed(found['lst_significantly_worse_at'])}.",
            f"- **The multi-task head beats the baseline at every λ** (paper: yes): mean WER below the baseline at λ = "
            f"{listed(found['multitask_better_than_baseline_at'])} of {n}; beyond seed noise at λ = "
            f"{listed(found['multitask_significantly_better_at'])}.",
            f"- **The multi-task head beats LST at every λ** (paper: yes): lower mean WER at λ = "
            f"{listed(found['multitask_better_than_lst_at'])} of {n}.",
            *(
                f"- **{name} raises the dev ECE of the 2nd and 3rd best classes** (paper: {claim}): mean ECE above "
                f"the baseline's, 1st / 2nd / 3rd class, at λ = "
                + " / ".join(listed(found["ece_raised_at"][method][rank]["above"]) for rank in RANKS)
                + "; beyond seed noise at λ = "
                + " / ".join(listed(found["ece_raised_at"][method][rank]["beyond_seed_noise"]) for rank in RANKS)
                + f" (of {n})."
                for method, name, claim in (("lst", "LST", "yes"), ("multitask", "The multi-task head", "no"))
            ),
        ]
    )


def render_power(rows: list[dict[str, Any]]) -> str:
    """What this design (seeds x test sentences) can detect, at the spreads observed."""
    compared = [r for r in rows if "mean_difference_pp" in r]
    seeds = max((len(r["seeds"]) for r in compared), default=0)
    seed_detectable = [r["detectable_pp"] for r in compared if r["detectable_pp"] is not None]
    sentence_detectable = [r["sentence_test"]["detectable_pp"] for r in compared
                           if r.get("sentence_test") and r["sentence_test"]["detectable_pp"] is not None]  # fmt: skip
    if not compared:
        return "No point to compare with the baseline yet."
    if seed_detectable:
        lines = [
            f"- **Seed noise:** with {seeds} seeds the paired t-test detects (80 % power, 5 % level) a mean WER "
            f"difference of {t_test_detectable_effect(seeds):.1f} standard deviations of the per-seed differences: "
            f"{_span(seed_detectable)} pp at the spreads observed (each estimated from "
            f"{seeds} differences, so a rough guide)."
        ]
    else:
        lines = [f"- **Seed noise:** not testable with {seeds} seed{'s' if seeds != 1 else ''} (the t-test needs 3)."]
    if sentence_detectable:
        first = next(r["sentence_test"] for r in compared if r.get("sentence_test"))
        lines.append(
            f"- **Test-set sampling:** the Wilcoxon test over the {first['sentences']} distinct test sentences "
            f"({first['reference_words']:,} reference words per seed) detects differences of about "
            f"{_span(sentence_detectable)} pp (80 % power, paired-t approximation "
            "on the same per-sentence differences). It conditions on the trained runs: it speaks to which sentences "
            "the test set drew, not to training randomness."
        )
    return "\n".join(lines)


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f}-{high:.2f}"


def plot_fig3(rows: list[dict[str, Any]], path: Path) -> Path:
    """WER against λ for LST and the multi-task head (mean ± std over seeds), the baseline as a band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    _baseline_band(ax, rows, lambda r: (r["test_wer_mean"], r["test_wer_std"]))
    for method, marker in (("lst", "o"), ("multitask", "s")):
        points = sorted((r for r in rows if r["method"] == method), key=lambda r: r["lambda"])
        if points:
            ax.errorbar(
                [r["lambda"] for r in points],
                [r["test_wer_mean"] for r in points],
                yerr=[r["test_wer_std"] for r in points],
                marker=marker,
                capsize=3,
                label=METHOD_NAMES[method],
            )
    ax.set(xlabel="λ", ylabel="test WER (%)", title="Paper 001 Fig. 3 on our data (mean ± std over seeds)")
    ax.legend()
    return _save(fig, path)


def plot_calibration(rows: list[dict[str, Any]], path: Path) -> Path:
    """Dev ECE of the top-1/2/3 classes of the supervised head against λ, both methods, the baseline as a band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=False)
    for ax, rank in zip(axes, RANKS, strict=True):
        _baseline_band(ax, rows, lambda r, k=rank: (100 * r["dev_ece_mean"][k], 100 * r["dev_ece_std"][k]))
        for method, marker in (("lst", "o"), ("multitask", "s")):
            points = sorted((r for r in rows if r["method"] == method), key=lambda r: r["lambda"])
            if points:
                ax.errorbar(
                    [r["lambda"] for r in points],
                    [100 * r["dev_ece_mean"][rank] for r in points],
                    yerr=[100 * r["dev_ece_std"][rank] for r in points],
                    marker=marker,
                    capsize=3,
                    label=METHOD_NAMES[method],
                )
        ax.set(xlabel="λ", ylabel="dev ECE (%)", title=f"{rank[:3]}-{rank[3:]} class")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _baseline_band(ax, rows: list[dict[str, Any]], value) -> None:
    base = next((r for r in rows if r["method"] == "supervised"), None)
    if base is None:
        return
    mean, std = value(base)
    ax.axhline(mean, color="grey", linestyle="--", label=METHOD_NAMES["supervised"])
    ax.axhspan(mean - std, mean + std, color="grey", alpha=0.2)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def write_fig3_report(out: str | Path) -> Path:
    """Write ``out/report.md``, ``fig3.png``, ``calibration.png`` and ``report.json``; returns the report's path."""
    out = Path(out)
    points = collect_points(out)
    if not points:
        raise FileNotFoundError(f"{out / 'runs'} holds no finished run (no */seed*/metrics.json)")
    compared = compare(points)
    rows = compared["rows"]
    state = json.loads((out / "fig3.json").read_text(encoding="utf-8")) if (out / "fig3.json").is_file() else {}
    plot_fig3(rows, out / "fig3.png")
    plot_calibration(rows, out / "calibration.png")
    settings = state.get("settings", {})
    timings = state.get("wall_seconds", {})
    baseline = next((p for p in points if p.method == "supervised"), points[0])
    first = baseline.metrics[baseline.seeds[0]]
    model = "The baseline model" if baseline.method == "supervised" else "An LST model"
    references = baseline.references
    test_set = f"{len(references):,} test utterances reading {len(set(references.values())):,} distinct sentences"
    text = f"""# Paper 001, Fig. 3: LST (eq. 3) against the multi-task head (eq. 4) on the seq2seq model

Settings: {json.dumps(settings)}
Code at commit(s): {", ".join(state.get("commits", ["unknown"]))}. Wall time of the command (summed over restarts):
{json.dumps(timings)}. {model} has {first["parameters"]:,} parameters (the multi-task runs add the KD
layer); every run decodes with beam {first["decode"]["beam"]}; {test_set}.

## Test WER against λ

{render_table(rows)}

Δ < 0: fewer errors than the baseline; its interval is the paired t-test's 95 % confidence interval. The paired
t-test runs over the per-seed WER differences (every seed trains the baseline and each point with the same seed) and
is Holm-adjusted over every point of the sweep; it needs at least 3 seeds, and the exact sign test cannot reach
p < 0.05 with fewer than 6. The Wilcoxon signed-rank test pairs the two runs on each distinct test sentence (its word
errors summed over the voices that read it, averaged over seeds; Holm over the points): it speaks to test-set
sampling, not to seed noise. ECE (%) is the expected calibration error of the k-th most probable subword of the
supervised head, teacher-forced on the dev transcripts (15 equal-width bins), mean ± std over seeds.

## What this design can detect

{render_power(rows)}

![WER against lambda](fig3.png)

## What the paper says and what we measured

{render_findings(compared["findings"])}

## Calibration of the supervised head

![ECE against lambda](calibration.png)

Paper 001's fourth claim is that label interpolation raises the calibration error of the second and third best
classes; the table's ECE columns and this plot give ours, measured on dev for every run.
"""
    atomic_write_text(out / "report.json", json.dumps(compared, indent=2, sort_keys=True) + "\n")
    atomic_write_text(out / "report.md", text)
    return out / "report.md"
