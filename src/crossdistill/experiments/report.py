"""``crossdistill report DIR``: Table I from a grid's run folders, paired tests against vanilla, and plots."""

from __future__ import annotations

import json
import math
import random
import statistics
from dataclasses import dataclass
from pathlib import Path

from crossdistill.common import atomic_path, atomic_write_text
from crossdistill.experiments.grid import GRID_FILE
from crossdistill.train.run import METRICS_FILE

VANILLA = "vanilla"
SCHEDULE_COLUMNS = {"": "-", "decay": "Decaying (6a)", "triangular": "Triangular (6b)"}
DECISION_COLUMNS = {"error_rate": "Error rate (7a)", "entropy": "Entropy (7b)", "dropout": "Dropout (7c, proposed)"}


@dataclass
class CellResult:
    name: str
    test_errors: dict[int, float]  # seed -> test error (%) at the epoch chosen on validation
    last_errors: dict[int, float]  # seed -> test error (%) at the last epoch
    histories: dict[int, list[dict]]

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
    """Read every ``<cell>/seed<k>/metrics.json`` under ``grid_dir``."""
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
    if not results:
        raise FileNotFoundError(f"no finished runs (*/seed*/{METRICS_FILE}) under {grid_dir}")
    return results


def sign_test_p(differences: list[float]) -> float:
    """Two-sided exact sign test on paired differences (ties dropped)."""
    nonzero = [d for d in differences if d != 0]
    n = len(nonzero)
    if n == 0:
        return 1.0
    k = min(sum(d > 0 for d in nonzero), sum(d < 0 for d in nonzero))
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def bootstrap_interval(differences: list[float], samples: int = 10000, level: float = 0.95, seed: int = 0):
    """Percentile bootstrap interval of the mean paired difference."""
    rng = random.Random(seed)
    means = sorted(statistics.mean(rng.choices(differences, k=len(differences))) for _ in range(samples))
    low = means[int((1 - level) / 2 * samples)]
    high = means[min(samples - 1, int((1 + level) / 2 * samples))]
    return low, high


def paired_comparison(cell: CellResult, vanilla: CellResult) -> dict:
    seeds = sorted(set(cell.test_errors) & set(vanilla.test_errors))
    differences = [cell.test_errors[s] - vanilla.test_errors[s] for s in seeds]
    if not differences:
        return {"seeds": 0}
    low, high = bootstrap_interval(differences)
    return {
        "seeds": len(seeds),
        "mean_difference": statistics.mean(differences),
        "wins": sum(d < 0 for d in differences),
        "losses": sum(d > 0 for d in differences),
        "sign_test_p": sign_test_p(differences),
        "bootstrap_95": (low, high),
        "beyond_seed_noise": low > 0 or high < 0,
    }


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
            f"(train {100 * teacher['train_error']:.2f}%, valid {100 * teacher['valid_error']:.2f}%)\n"
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


def render_details(results: dict[str, CellResult]) -> str:
    vanilla = results.get(VANILLA)
    lines = ["| cell | seeds | test error (%) chosen on valid | test error (%) at last epoch | "
             "Δ vs vanilla (pp) | wins/losses | sign-test p | bootstrap 95% of Δ | beyond seed noise |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, cell in results.items():
        row = f"| {name} | {len(cell.test_errors)} | {cell.mean:.2f} ± {cell.std:.2f} | {cell.last_mean:.2f} |"
        if vanilla is None or name == VANILLA:
            lines.append(row + " | | | | |")
            continue
        cmp = paired_comparison(cell, vanilla)
        if not cmp["seeds"]:
            lines.append(row + " no shared seeds | | | | |")
            continue
        low, high = cmp["bootstrap_95"]
        lines.append(
            row + f" {cmp['mean_difference']:+.2f} | {cmp['wins']}/{cmp['losses']} | {cmp['sign_test_p']:.3f} | "
            f"[{low:+.2f}, {high:+.2f}] | {'yes' if cmp['beyond_seed_noise'] else 'no'} |"
        )
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
    parts = ["# Table I on our data\n", render_table(results, _teacher_errors(teacher)), "",
             "## Each cell against vanilla (paired over seeds)\n", render_details(results), "",
             "Δ < 0 means fewer errors than vanilla. A difference counts as beyond seed noise when the bootstrap "
             "interval of the mean paired difference excludes 0; with 3 seeds the sign test cannot reach p < 0.25.",
             "", "## Plots\n", *[f"![{p.stem}]({p.name})" for p in plots], ""]  # fmt: skip
    if info:
        parts += ["## Provenance\n", "```json", json.dumps(info, indent=2), "```", ""]
    path = grid_dir / "report.md"
    atomic_write_text(path, "\n".join(parts))
    return path


def _teacher_errors(teacher: dict | None) -> dict | None:
    """The text teacher's intent error per split from its ``metrics.json`` (``crossdistill teacher train``)."""
    if not teacher:
        return None
    return {f"{split}_error": teacher["splits"][split]["intent_error"] for split in ("train", "valid", "test")}


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
