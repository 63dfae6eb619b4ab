"""``crossdistill report DIR``: Table I from a grid's run folders, paired tests against vanilla, and plots."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from crossdistill.common import atomic_path, atomic_write_text
from crossdistill.experiments.confidence_diagnostic import (
    PAPER_TEACHER_TRAIN_ERROR,
    diagnose_confidence,
    render_diagnostic,
)
from crossdistill.experiments.grid import GRID_FILE
from crossdistill.experiments.primary import compare_primary, primary_notes, render_primary
from crossdistill.experiments.protocols import protocol_errors, protocol_notes, render_protocol_table
from crossdistill.experiments.significance import (
    ALPHA,
    MIN_SEEDS_T_TEST,
    SeedTest,
    UtteranceTest,
    holm,
    min_seeds_for_sign_test,
    seed_test,
    t_test_detectable_effect,
    utterance_test,
)
from crossdistill.experiments.speaker_bootstrap import render_speaker_intervals, speaker_notes
from crossdistill.train.run import METRICS_FILE
from crossdistill.train.utterance_correctness import TEST_CORRECTNESS_FILE, read_test_correctness

VANILLA = "vanilla"
SCHEDULE_COLUMNS = {"": "-", "decay": "Decaying (6a)", "triangular": "Triangular (6b)"}
DECISION_COLUMNS = {"error_rate": "Error rate (7a)", "entropy": "Entropy (7b)", "dropout": "Dropout (7c, proposed)"}


@dataclass
class CellResult:
    name: str
    test_errors: dict[int, float]  # seed -> test error (%) at the epoch chosen on validation
    last_errors: dict[int, float]  # seed -> test error (%) at the last epoch
    histories: dict[int, list[dict]]
    # seed -> {utt_id: correct} of the selected model, for the seeds whose run wrote test_correctness.csv
    test_correct: dict[int, dict[str, bool]] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return statistics.mean(self.test_errors.values())

    @property
    def std(self) -> float:
        values = list(self.test_errors.values())
        return statistics.stdev(values) if len(values) > 1 else 0.0

    @property
    def last_mean(self) -> float:
        return statistics.mean(self.last_errors.values())


def collect_results(grid_dir: Path) -> dict[str, CellResult]:
    """Read every ``<cell>/seed<k>/metrics.json`` under ``grid_dir``, and its ``test_correctness.csv`` if any."""
    grid_dir = Path(grid_dir)
    results: dict[str, CellResult] = {}
    for metrics_path in sorted(grid_dir.glob(f"*/seed*/{METRICS_FILE}")):
        cell = metrics_path.parent.parent.name
        seed = int(metrics_path.parent.name.removeprefix("seed"))
        metrics = json.loads(metrics_path.read_text())
        result = results.setdefault(cell, CellResult(cell, {}, {}, {}))
        result.test_errors[seed] = 100 * metrics["test_error"]
        result.last_errors[seed] = 100 * metrics["last_test_error"]
        result.histories[seed] = metrics["history"]
        if (metrics_path.parent / TEST_CORRECTNESS_FILE).is_file():
            result.test_correct[seed] = read_test_correctness(metrics_path.parent / TEST_CORRECTNESS_FILE)
    if not results:
        raise FileNotFoundError(f"no finished runs (*/seed*/{METRICS_FILE}) under {grid_dir}")
    return results


@dataclass(frozen=True)
class Comparison:
    """One cell against vanilla: the tests over seeds and over utterances, with Holm-adjusted p values."""

    seeds: SeedTest
    utterances: UtteranceTest | None  # None: some run lacks per-utterance predictions
    t_p_holm: float | None = None
    utterance_p_holm: float | None = None


def compare_with_vanilla(results: dict[str, CellResult]) -> dict[str, Comparison]:
    """Every cell against vanilla on their shared seeds. Holm's adjustment runs over the cells compared, so a
    "yes" holds for the whole table, not for one row picked after the fact."""
    vanilla = results.get(VANILLA)
    if vanilla is None:
        return {}
    raw = {}
    for name, cell in results.items():
        seeds = sorted(set(cell.test_errors) & set(vanilla.test_errors))
        if name == VANILLA or not seeds:
            continue
        tests = seed_test([cell.test_errors[s] - vanilla.test_errors[s] for s in seeds])
        complete = all(s in cell.test_correct and s in vanilla.test_correct for s in seeds)
        raw[name] = (tests, utterance_test(cell.test_correct, vanilla.test_correct) if complete else None)
    t_holm = holm({n: t.t_p for n, (t, _) in raw.items() if t.t_p is not None})
    u_holm = holm({n: u.p for n, (_, u) in raw.items() if u is not None})
    return {n: Comparison(t, u, t_holm.get(n), u_holm.get(n)) for n, (t, u) in raw.items()}


def _p(p: float | None, adjusted: float | None) -> str:
    if p is None:
        return ""

    def fmt(value: float) -> str:
        return "< 0.001" if value < 0.001 else f"{value:.3f}"

    return fmt(p) + (f" (Holm {fmt(adjusted)})" if adjusted is not None else "")


def _pp(value: float | None) -> str:
    return "none reachable" if value is None else f"{value:.2f}"


def seed_verdict(comparison: Comparison) -> str:
    tests = comparison.seeds
    if tests.t_p is None:
        return tests.t_note
    return "yes" if comparison.t_p_holm < ALPHA else "no"


def utterance_verdict(comparison: Comparison) -> str:
    if comparison.utterances is None:
        return "unavailable"
    return "yes" if comparison.utterance_p_holm < ALPHA else "no"


@dataclass(frozen=True)
class SeedRow:
    """A row of the seed-noise table: a cell's name, its error summary and its comparison with vanilla."""

    name: str
    seeds: int
    chosen: str  # mean ± std of the test error at the epoch chosen on validation
    last: str  # mean test error at the last epoch
    comparison: Comparison | None


def render_seed_table(rows: list[SeedRow]) -> str:
    lines = ["| cell | seeds | test error (%) chosen on valid | test error (%) at last epoch | Δ vs vanilla (pp) | "
             "wins/losses | paired t-test p | detectable with 80% power (pp) | sign-test p | beyond seed noise |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in rows:
        start = f"| {row.name} | {row.seeds} | {row.chosen} | {row.last} |"
        if row.comparison is None:
            lines.append(start + " | | | | | |")
            continue
        c, tests = row.comparison, row.comparison.seeds
        lines.append(
            start + f" {tests.mean_difference:+.2f} | {tests.wins}/{tests.losses} | "
            f"{_p(tests.t_p, c.t_p_holm) or 'n/a'} | {_pp(tests.detectable_pp) if tests.t_p is not None else 'n/a'}"
            f" | {_p(tests.sign_p, None) or tests.sign_note} | {seed_verdict(c)} |"
        )
    return "\n".join(lines)


def render_details(results: dict[str, CellResult], comparisons: dict[str, Comparison] | None = None) -> str:
    """The seed-noise table: each cell against vanilla, paired over seeds."""
    comparisons = compare_with_vanilla(results) if comparisons is None else comparisons
    rows = [SeedRow(name, len(cell.test_errors), f"{cell.mean:.2f} ± {cell.std:.2f}", f"{cell.last_mean:.2f}",
                    comparisons.get(name)) for name, cell in results.items()]  # fmt: skip
    return render_seed_table(rows)


def render_utterance_table(comparisons: dict[str, Comparison]) -> str:
    """The test-set-sampling table: each cell against vanilla, paired over test utterances within each seed."""
    if not any(c.utterances for c in comparisons.values()):
        return (f"Unavailable: these runs have no `{TEST_CORRECTNESS_FILE}` (runs write it since the utterance-level "
                "test was added; older grid folders lack it), so no test here speaks to test-set "
                "sampling.")  # fmt: skip
    lines = ["| cell | seeds | utterance pairs | right only with the cell | right only with vanilla | "
             "Δ vs vanilla (pp) | exact McNemar p | detectable with 80% power (pp) | beyond test-set sampling |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, c in comparisons.items():
        u = c.utterances
        if u is None:
            lines.append(f"| {name} | | | | | | | | unavailable (a run lacks {TEST_CORRECTNESS_FILE}) |")
            continue
        lines.append(
            f"| {name} | {u.seeds} | {u.pairs} | {u.cell_only} | {u.vanilla_only} | {u.difference_pp:+.2f} | "
            f"{_p(u.p, c.utterance_p_holm)} | {_pp(u.detectable_pp)} | {utterance_verdict(c)} |"
        )
    return "\n".join(lines)


def seed_notes() -> str:
    return (
        "Speaks to **seed noise** (initialization, shuffling, dropout), not to test-set sampling: every seed is "
        f"scored on the same test set. Δ < 0 means fewer errors than vanilla. The paired t-test on the per-seed "
        f"differences needs at least {MIN_SEEDS_T_TEST} seeds: with 2 it has one degree of freedom and detects, "
        f"4 times out of 5, only mean differences of {t_test_detectable_effect(2):.0f} standard deviations of the "
        f"per-seed differences ({t_test_detectable_effect(3):.1f} with 3 seeds, {t_test_detectable_effect(8):.1f} "
        f"with 8). The exact sign test cannot go below p = 0.05 with fewer than "
        f'{min_seeds_for_sign_test()} seeds. "beyond seed noise" is the t-test at the 5% level after Holm\'s '
        'adjustment over all cells in the table. "Detectable with 80% power" is the |Δ| the t-test would find '
        "4 times out of 5 if the seed-to-seed spread were the one observed here (a rough guide: that spread is "
        "itself estimated from these few seeds)."
    )


def utterance_notes() -> str:
    return (
        "Speaks to **test-set sampling** (which utterances the test set happens to hold), not to seed noise: it "
        "takes the trained runs as given, so with one seed it says whether these two runs differ, not whether "
        "the policy does. Within each seed, an utterance counts when exactly one of the two runs gets it right "
        '(exact McNemar); the seeds are combined by summing those counts, an exact test of "each such utterance '
        'is equally likely to favour either run" that keeps the direction of the difference. The seeds share '
        "their test utterances, and utterances of one speaker are not independent, so the test is optimistic "
        'when errors cluster by speaker. "beyond test-set sampling" is at the 5% level after Holm\'s '
        'adjustment over all cells; "detectable with 80% power" is the |Δ| the test finds 4 times out of 5 '
        "given the number of discordant utterances observed."
    )


def _fmt(cell: CellResult | None, vanilla: CellResult | None) -> str:
    if cell is None:
        return "n/a"
    text = f"{cell.mean:.2f} ± {cell.std:.2f}"
    if vanilla is not None and cell.name != VANILLA and vanilla.mean > 0:
        text += f" ({100 * (vanilla.mean - cell.mean) / vanilla.mean:+.0f}%)"
    return text


def render_table(results: dict[str, CellResult], teacher: dict | None) -> str:
    """Markdown in Table I's shape, with the relative error reduction against vanilla in parentheses."""
    vanilla = results.get(VANILLA)
    lines = []
    if teacher:
        lines.append(
            f"**Teacher (text)**: test error {100 * teacher['test_error']:.2f}% "
            f"(train {100 * teacher['train_error']:.2f}% against the training labels, valid "
            f"{100 * teacher['valid_error']:.2f}%); paper 000's teacher: {100 * PAPER_TEACHER_TRAIN_ERROR:.2f}% train, "
            "0% test\n"
        )
    seeds = sorted({s for r in results.values() for s in r.test_errors})
    lines.append(f"Student test error (%), mean ± std over seeds {seeds}, checkpoint chosen on validation; "
                 "relative error reduction against vanilla in parentheses.\n")  # fmt: skip
    lines += ["| Models (speech) | | Test error (%) |", "|---|---|---|"]
    lines.append(f"| No distillation | Vanilla | {_fmt(vanilla, None)} |")
    lines.append(f"| Baselines (with distil.) | Decaying (6a) | {_fmt(results.get('decay'), vanilla)} |")
    lines.append(f"| | Triangular (6b) | {_fmt(results.get('triangular'), vanilla)} |")
    lines.append("")
    lines.append("| Automatic decision | " + " | ".join(DECISION_COLUMNS.values()) + " |")
    lines.append("|---|---|---|---|")
    for schedule, label in SCHEDULE_COLUMNS.items():
        cells = [results.get(f"{d}_x_{schedule}" if schedule else d) for d in DECISION_COLUMNS]
        lines.append(f"| Scheduling: {label} | " + " | ".join(_fmt(c, vanilla) for c in cells) + " |")
    return "\n".join(lines)


def plot_curves(results: dict[str, CellResult], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
    for name, cell in results.items():
        history = cell.histories[min(cell.histories)]
        keys = sorted({k for r in history for k in r if k.startswith("lambda/") and k.endswith("/mean")})
        for key in keys:
            ax.plot([r["epoch"] for r in history], [r.get(key, float("nan")) for r in history], label=name)
    ax.set(xlabel="epoch", ylabel="mean lambda applied", title="Distillation weight actually applied (first seed)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    paths.append(_save(fig, out_dir / "lambda_over_epochs.png"))
    fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
    for name, cell in results.items():
        epochs = sorted({r["epoch"] for h in cell.histories.values() for r in h if "valid/error" in r})
        means = [
            100 * statistics.mean(r["valid/error"] for h in cell.histories.values() for r in h
                                  if r["epoch"] == e and "valid/error" in r)
            for e in epochs
        ]  # fmt: skip
        ax.plot(epochs, means, label=name)
    ax.set(xlabel="epoch", ylabel="validation error (%)", title="Validation error, mean over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    paths.append(_save(fig, out_dir / "validation_error.png"))
    plt.close("all")
    return paths


def plot_teacher_distributions(teacher_cache: Path, out_dir: Path, head: str = "intent") -> Path | None:
    """Histograms of D and H_C over the training set's utterances."""
    import matplotlib

    from crossdistill.teachers.text.cache import TeacherCache

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cache = TeacherCache.load(teacher_cache)
    corpus_root = _corpus_of(teacher_cache)
    if corpus_root is None:
        return None
    from crossdistill.data.corpus import load_corpus

    train_ids = [u.utt_id for u in load_corpus(corpus_root, check_audio=False).splits["train"]]
    tensors = cache.lookup(train_ids)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, key, label in ((axes[0], f"confidence/{head}", "dropout confidence D"),
                           (axes[1], f"entropy/{head}", "normalized entropy H_C")):  # fmt: skip
        if key in tensors:
            ax.hist(tensors[key].numpy(), bins=40)
        ax.set(title=f"{label} over the training set", xlabel=label, ylabel="utterances")
    path = _save(fig, out_dir / "teacher_uncertainty.png")
    plt.close(fig)
    return path


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return path


def write_report(grid_dir: Path) -> Path:
    """Write ``grid_dir/report.md`` (+ plots) and return its path."""
    grid_dir = Path(grid_dir)
    results = collect_results(grid_dir)
    info = json.loads((grid_dir / GRID_FILE).read_text()) if (grid_dir / GRID_FILE).is_file() else {}
    order = info.get("cells") or sorted(results)
    results = {name: results[name] for name in order if name in results}
    teacher = None
    if info.get("teacher_dir") and (Path(info["teacher_dir"]) / "metrics.json").is_file():
        teacher = json.loads((Path(info["teacher_dir"]) / "metrics.json").read_text())
    plots = plot_curves(results, grid_dir)
    cache = _teacher_cache_of(grid_dir)
    if cache is not None:
        plots.append(plot_teacher_distributions(cache, grid_dir))
    comparisons = compare_with_vanilla(results)
    corpus = _corpus_of_grid(grid_dir)
    speaker_of = {u.utt_id: u.speaker_id for u in corpus.splits["test"]} if corpus is not None else None
    primary = compare_primary(results, info.get("primary") or [], speaker_of)
    speaker_table, speaker_intervals = render_speaker_intervals(results, speaker_of)
    diagnostic = _diagnostic(cache, corpus)
    parts = ["# Table I on our data\n", render_table(results, _teacher_errors(teacher)), "",
             "## Primary comparisons, declared in advance\n", render_primary(primary), "", primary_notes(), "",
             "## Test error under three selection protocols\n", render_protocol_table(results), "",
             protocol_notes(), "",
             "## Test-speaker sampling: speaker-clustered bootstrap\n", speaker_table, "", speaker_notes(), "",
             "## Each cell against vanilla, over seeds (seed noise)\n", render_details(results, comparisons), "",
             seed_notes(), "",
             "## Each cell against vanilla, over test utterances (test-set sampling)\n",
             render_utterance_table(comparisons), "", utterance_notes(), ""]  # fmt: skip
    if diagnostic is not None:
        parts += [render_diagnostic(diagnostic).replace("# ", "## ", 1), ""]
    parts += ["## Plots\n", *[f"![{p.stem}]({p.name})" for p in plots], ""]
    if info:
        parts += ["## Provenance\n", "```json", json.dumps(info, indent=2), "```", ""]
    path = grid_dir / "report.md"
    summary = _summary(results, comparisons)
    summary["protocols_pct"] = {name: protocol_errors(cell) for name, cell in results.items()}
    summary["primary"] = [c.to_dict() for c in primary]
    summary["speaker_bootstrap"] = speaker_intervals
    if diagnostic is not None:
        summary["confidence_diagnostic"] = diagnostic
    atomic_write_text(grid_dir / "report.json", json.dumps(summary, indent=2) + "\n")
    atomic_write_text(path, "\n".join(parts))
    return path


def _summary(results: dict[str, CellResult], comparisons: dict[str, Comparison]) -> dict:
    """The per-seed numbers behind the tables, so that later statistics need not recover them from markdown."""
    cells = {name: {"test_error_pct": cell.test_errors, "last_test_error_pct": cell.last_errors,
                    "seeds_with_test_correctness": sorted(cell.test_correct)}
             for name, cell in results.items()}  # fmt: skip
    tests = {}
    for name, c in comparisons.items():
        entry = {"seed_differences_pp": list(c.seeds.differences), "t_test_p": c.seeds.t_p, "t_test_p_holm": c.t_p_holm,
                 "t_test_note": c.seeds.t_note, "t_test_detectable_pp": c.seeds.detectable_pp,
                 "sign_test_p": c.seeds.sign_p, "beyond_seed_noise": seed_verdict(c),
                 "beyond_test_set_sampling": utterance_verdict(c)}  # fmt: skip
        if c.utterances is not None:
            u = c.utterances
            entry.update({"utterance_pairs": u.pairs, "right_only_with_cell": u.cell_only,
                          "right_only_with_vanilla": u.vanilla_only, "mcnemar_p": u.p,
                          "mcnemar_p_holm": c.utterance_p_holm, "mcnemar_detectable_pp": u.detectable_pp})  # fmt: skip
        tests[name] = entry
    return {"cells": cells, "against_vanilla": tests}


def _teacher_errors(teacher: dict | None) -> dict | None:
    """The text teacher's intent error per split from its ``metrics.json`` (``crossdistill teacher train``)."""
    if not teacher:
        return None
    return {f"{split}_error": teacher["splits"][split]["intent_error"] for split in ("train", "valid", "test")}


def _corpus_of_grid(grid_dir: Path):
    """The corpus the grid's runs trained on (their ``corpus`` setting), or None when it cannot be read."""
    from omegaconf import OmegaConf

    from crossdistill.data.corpus import load_corpus

    for config_path in sorted(grid_dir.glob("*/seed*/run_config.yaml")):
        root = OmegaConf.load(config_path).get("corpus")
        try:
            return load_corpus(root, check_audio=False)
        except (OSError, TypeError, ValueError):  # moved, deleted or never set: the sections that need it say so
            return None
    return None


def _diagnostic(cache: Path | None, corpus) -> dict | None:
    """The teacher-confidence diagnostic on the grid's corpus, when its teacher cache is there."""
    if cache is None or corpus is None:
        return None
    from crossdistill.teachers.text.cache import TeacherCache

    return diagnose_confidence(corpus, TeacherCache.load(cache))


def _corpus_of(teacher_cache: Path) -> str | None:
    index = Path(teacher_cache) / "index.json"
    return json.loads(index.read_text()).get("corpus_root") if index.is_file() else None


def _teacher_cache_of(grid_dir: Path) -> Path | None:
    from omegaconf import OmegaConf

    for config_path in sorted(grid_dir.glob("*/seed*/run_config.yaml")):
        cache = OmegaConf.load(config_path).get("teacher_cache")
        if cache and Path(cache).exists():
            return Path(cache)
    return None
