"""Where a text teacher should help most: teachers and the vanilla student on the random and the unseen splits.

``crossdistill split-study`` runs, for each corpus split (``crossdistill.data.splits``):

1. the shared setup of ``crossdistill benchmark --split S`` under ``OUT/S`` (corpus, pre-trained acoustic module,
   the MiniLM teacher fine-tuned on the training transcripts, its cache), so a later ``crossdistill benchmark
   --out OUT/S --split S`` reuses it;
2. every other teacher architecture on the same corpus (``OUT/S/teacher-<arch>``; by default the scratch BiLSTM),
   to set a pretrained encoder that knows other wordings beside one that has only heard the training phrasings;
3. the vanilla student (Table I's first row, no distillation) over seeds (``OUT/S/vanilla/vanilla/seed<k>``).

It writes ``OUT/split_study.json`` and ``OUT/split_study.md``: each teacher's text error on train, valid and test
(per utterance and per unique transcript; on ``unseen-utterance`` the test transcripts are phrasings training never
had), and the vanilla student's test error (mean and std over seeds, at the epoch chosen on valid). Every stage is
kept when complete, so the same command continues after an interruption.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from crossdistill.common import atomic_write_text
from crossdistill.data.splits import check_split_kind
from crossdistill.experiments.benchmark import GRID_CONFIG
from crossdistill.experiments.setup import SetupSettings, prepare_setup, step
from crossdistill.experiments.vanilla_runs import run_vanilla_seeds, vanilla_test_errors

TEACHER_ARCHS = ("transformer", "scratch")
RESULTS_JSON, RESULTS_MD = "split_study.json", "split_study.md"


def run_split_study(
    out_dir: Path,
    settings: SetupSettings,
    splits: tuple[str, ...] = ("random", "unseen-utterance"),
    seeds: tuple[int, ...] = (0, 1, 2),
    teachers: tuple[str, ...] = TEACHER_ARCHS,
    grid_config: Path = GRID_CONFIG,
    overrides: tuple[str, ...] = (),
    other_teacher_epochs: int | None = None,
) -> dict:
    """Run the study into ``out_dir`` (see the module docstring) and return what ``split_study.json`` holds.

    ``settings.teacher_arch`` is the teacher the setup trains and caches; ``teachers`` lists every architecture
    reported (the setup's among them), the others trained for ``other_teacher_epochs`` (None: each arch's default).
    The vanilla runs take ``grid_config``'s base settings and vanilla cell.
    """
    from crossdistill.data.corpus import load_corpus
    from crossdistill.teachers.text.training import TrainOptions, train_teacher

    for split in splits:
        check_split_kind(split, "--splits")
    unknown = sorted(set(teachers) - set(TEACHER_ARCHS))
    if unknown or settings.teacher_arch not in teachers:
        known = ", ".join(TEACHER_ARCHS)
        raise ValueError(f"--teachers must include {settings.teacher_arch} and name only {known}; got {teachers}")
    out = Path(out_dir).absolute()
    started = time.time()
    results: dict[str, dict] = {}
    for split in splits:
        setup = prepare_setup(out / split, replace(settings, corpus_split=split))
        teacher_metrics = {settings.teacher_arch: setup.teacher_metrics}
        for arch in teachers:
            if arch != settings.teacher_arch:
                step(f"training the {arch} text teacher on the {split} split")
                options = TrainOptions(arch=arch, epochs=other_teacher_epochs, seed=settings.seed,
                                       threads=settings.threads, progress=False)  # fmt: skip
                corpus = load_corpus(setup.corpus, check_audio=False)
                teacher_metrics[arch] = train_teacher(corpus, out / split / f"teacher-{arch}", options)
        step(f"vanilla student on the {split} split: {len(seeds)} seeds")
        cell_dir = run_vanilla_seeds(setup, settings, out / split / "vanilla", seeds, grid_config, overrides)
        results[split] = {
            "corpus": str(setup.corpus),
            "teachers": {arch: _teacher_errors(metrics) for arch, metrics in teacher_metrics.items()},
            "vanilla_test_error_pct": vanilla_test_errors(cell_dir, seeds),
        }
    summary = {
        "settings": asdict(settings),
        "splits": list(splits),
        "seeds": list(seeds),
        "grid_config": str(grid_config),
        "overrides": list(overrides),
        "this_call_seconds": round(time.time() - started, 1),
        "results": results,
    }
    atomic_write_text(out / RESULTS_JSON, json.dumps(summary, indent=2) + "\n")
    atomic_write_text(out / RESULTS_MD, format_split_study(summary))
    print(f"\nresults: {out / RESULTS_MD}")
    return summary


def _teacher_errors(metrics: dict) -> dict[str, dict[str, float]]:
    return {
        split: {"utterances_pct": 100 * r["intent_error"], "unique_transcripts_pct": 100 * r["intent_error_unique"]}
        for split, r in metrics["splits"].items()
    }


def format_split_study(summary: dict) -> str:
    """The markdown report of a split study's ``split_study.json``."""
    results, seeds = summary["results"], summary["seeds"]
    lines = [
        "# Teachers and the vanilla student on each corpus split",
        "",
        f"Corpus preset `{summary['settings']['corpus_preset']}`, seeds {', '.join(map(str, seeds))}. Text error "
        "of each teacher per split (per utterance; per unique transcript in brackets), at the epoch chosen on "
        "valid. On `unseen-utterance` no valid or test transcript occurs in training.",
        "",
        "| corpus split | teacher | train | valid | test |",
        "|---|---|---|---|---|",
    ]
    for split, result in results.items():
        for arch, errors in result["teachers"].items():
            cells = [f"{e['utterances_pct']:.2f} % ({e['unique_transcripts_pct']:.2f} %)" for e in
                     (errors["train"], errors["valid"], errors["test"])]  # fmt: skip
            lines.append(f"| {split} | {arch} | {' | '.join(cells)} |")
    lines += [
        "",
        f"Vanilla student (Table I's first row): test error at the epoch chosen on valid, mean ± std over "
        f"{len(seeds)} seeds.",
        "",
        "| corpus split | test error | per seed |",
        "|---|---|---|",
    ]
    for split, result in results.items():
        vanilla = result["vanilla_test_error_pct"]
        per_seed = ", ".join(f"{value:.2f}" for value in vanilla["per_seed"].values())
        lines.append(f"| {split} | {vanilla['mean']:.2f} ± {vanilla['std']:.2f} % | {per_seed} |")
    return "\n".join(lines) + "\n"
