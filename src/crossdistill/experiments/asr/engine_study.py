"""Does paper 001's hybrid baseline generalize to a synthesis engine it never heard? (issue 15 item 5, paper 001)

``crossdistill asr engine-study`` is paper 000's ``crossdistill engine-study``
(``crossdistill.experiments.engine_study``: the same settings, held-out engine, augmentation and 2x goal) for the
hybrid AM without LM distillation (Table 1's baseline cell). Per training setting:

* ``espeak``: ``asr data synth --engines espeak,<held-out> --split unseen-engine --held-out-engine <held-out>``:
  train, dev and test hear eSpeak NG alone (the same speakers as an eSpeak-only corpus of that preset and seed);
* ``all``: ``--engines all``: train, dev and test hear every installed engine but the held-out one;
* ``all+augment``: the ``all`` corpus through ``crossdistill data augment`` with paper 000's study options
  (``AUGMENT``: 3-way speed perturbation, coloured noise at 10-30 dB on every copy, simulated rooms on 30 %); the
  copies' CTM alignments are the originals' times divided by the speed factor (``data.augment``), so their frame
  labels follow the perturbed audio.

Corpora: ``OUT/corpora/<espeak|all|all+augment>``. Each setting then runs the Table 1 machinery
(``table1.finish_runs``) under ``OUT/<setting>``: its units folder (senone tree from its own training alignments),
the trigram word LM, and the baseline cell over seeds (Table 1's calibrated AM; ``augmented_epochs`` may shorten the
augmented setting's training, whose corpus is 4x larger), each run selected on dev frame accuracy and decoded on test
with the LM weight and word score tuned on dev. The held-out engine's test set ``test_unseen_engine`` is decoded
with the weights test's decoding chose (tuned on dev, never on a test set) into ``decode/test_unseen_engine.json``.

``OUT/asr_engine_study.json`` and ``.md``: WER per setting and test set (mean ± std over seeds), the ratio of the
held-out-engine WER to the in-domain WER against issue 15's 2x goal, and paired tests over seeds. Every stage is kept
when complete (corpora, units, runs, decodings), so the same command continues after an interruption.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crossdistill.common import atomic_write_text
from crossdistill.data.corpus import UNSEEN_ENGINE_TEST
from crossdistill.experiments.asr.setup import AsrSetupSettings
from crossdistill.experiments.asr.table1 import (
    CALIBRATED_TRAIN,
    DecodeSettings,
    Table1Run,
    Table1Settings,
    calibrated_setup,
    finish_runs,
)
from crossdistill.experiments.engine_study import (
    ALL_AUGMENTED,
    AUGMENT,
    DEFAULT_HELD_OUT,
    ESPEAK_ONLY,
    GOAL_RATIO,
    SETTINGS,
    TEST_SETS,
    check_engine_study,
    compare_settings,
    paired_test_rows,
    seed_test_record,
)
from crossdistill.experiments.setup import step

CELL = "baseline"  # Table 1's first row: senone cross-entropy only, no LM distillation
CORPORA_DIR = "corpora"
RESULTS_JSON, RESULTS_MD = "asr_engine_study.json", "asr_engine_study.md"


@dataclass(frozen=True)
class AsrEngineStudySettings:
    """What the study runs.

    setup: the shared inputs of each setting (``AsrSetupSettings``: preset, corpus seed, units options, jobs, threads;
    its ``corpus`` and ``lm_units`` are set per setting, none trained). settings: the training settings
    (``experiments.engine_study.SETTINGS``). held_out_engine: the engine only tested on. seeds: training seeds.
    train_overrides: ``key=value`` settings of every run (Table 1's calibrated AM by default). augmented_epochs:
    training epochs of the ``all+augment`` runs (None: as the others). decode: how runs are decoded.
    """

    setup: AsrSetupSettings = field(default_factory=lambda: replace(calibrated_setup(), lm_units=()))
    settings: tuple[str, ...] = SETTINGS
    held_out_engine: str = DEFAULT_HELD_OUT
    seeds: tuple[int, ...] = (0, 1, 2)
    train_overrides: tuple[str, ...] = CALIBRATED_TRAIN
    augmented_epochs: int | None = None
    decode: DecodeSettings = field(default_factory=DecodeSettings)

    def check(self) -> None:
        """Every argument error before anything is written."""
        from crossdistill.data.asr.synth import get_preset

        check_engine_study(self.settings, self.held_out_engine, self.seeds)
        if self.setup.corpus is not None:
            raise ValueError("the engine study synthesizes its own corpora: give --preset, not --corpus")
        get_preset(self.setup.preset)  # the settings' own check sees a corpus folder instead
        if self.augmented_epochs is not None and self.augmented_epochs < 1:
            raise ValueError(f"--augmented-epochs must be >= 1, got {self.augmented_epochs}")
        for name in self.settings:
            self.table1_settings(name, Path(".")).check()

    def table1_settings(self, setting: str, corpus: Path) -> Table1Settings:
        """Table 1's machinery for one setting: the baseline cell on ``corpus``, no LM teacher."""
        overrides = self.train_overrides
        if setting == ALL_AUGMENTED and self.augmented_epochs is not None:
            overrides = (*overrides, f"epochs={self.augmented_epochs}")
        setup = replace(self.setup, corpus=str(corpus), lm_units=())
        return Table1Settings(setup=setup, cells=(CELL,), seeds=self.seeds, train_overrides=overrides,
                              decode=self.decode)  # fmt: skip


def setting_engines(setting: str, held_out_engine: str) -> str:
    """``--engines`` of a setting's corpus (``all+augment`` augments the ``all`` corpus)."""
    return f"espeak,{held_out_engine}" if setting == ESPEAK_ONLY else "all"


def build_corpus(out: Path, setting: str, settings: AsrEngineStudySettings, progress: bool = False) -> Path:
    """Synthesize (or augment) one setting's corpus under ``out/corpora``, or return it when complete."""
    from crossdistill.data.asr.synth import synthesize_asr_corpus

    corpora = out / CORPORA_DIR
    source = ESPEAK_ONLY if setting == ESPEAK_ONLY else "all"
    engines = setting_engines(setting, settings.held_out_engine)
    step(f"corpus {source}: engines {engines}, {settings.held_out_engine} held out")
    corpus = synthesize_asr_corpus(
        corpora / source, settings.setup.preset, seed=settings.setup.corpus_seed, jobs=settings.setup.jobs,
        progress=progress, engines=engines, split="unseen-engine", held_out_engine=settings.held_out_engine,
    )  # fmt: skip
    if setting != ALL_AUGMENTED:
        return corpus
    from crossdistill.data.augment.options import AugmentOptions
    from crossdistill.data.augment.run import augment_corpus

    step(f"corpus {ALL_AUGMENTED}: data augment {AugmentOptions(**AUGMENT).to_dict()}")
    return augment_corpus(corpus, corpora / ALL_AUGMENTED, AugmentOptions(**AUGMENT), settings.setup.jobs, progress)


def decode_held_out(run: Table1Run, decode: DecodeSettings, word_lm_cache: Path, threads: int) -> dict[str, Any]:
    """Decode a finished run's ``test_unseen_engine`` with the LM weight and word score its test decoding chose on dev
    (so no test set tunes anything); a decoding already written is returned as it is."""
    from omegaconf import OmegaConf

    from crossdistill.train.asr.hybrid_decoding.decode import decode_hybrid

    saved = run.decoded(UNSEEN_ENGINE_TEST)
    if saved.is_file():
        return json.loads(saved.read_text(encoding="utf-8"))
    config = OmegaConf.load(run.config_path)
    tested = json.loads(run.decoded(str(config.splits.test)).read_text(encoding="utf-8"))
    options = decode.options(
        UNSEEN_ENGINE_TEST, config.splits.dev, config.splits.train, features_cache=Path(config.features_cache),
        lm_cache=word_lm_cache, units=Path(config.units), threads=threads,
    )  # fmt: skip
    search = dataclasses.replace(options.search, lm_weight=tested["search"]["lm_weight"],
                                 word_score=tested["search"]["word_score"])  # fmt: skip
    options = dataclasses.replace(options, search=search, tune_split=None)
    return decode_hybrid(run.out, config.corpus, options, progress=False)


def run_asr_engine_study(out_dir: str | Path, settings: AsrEngineStudySettings) -> dict[str, Any]:
    """Run the study into ``out_dir`` (see the module docstring); returns what ``asr_engine_study.json`` holds."""
    from crossdistill.common.progress import show_progress
    from crossdistill.experiments.asr.setup import WORD_LM_DIR

    settings.check()
    out = Path(out_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    progress = show_progress()
    started = time.time()
    results: dict[str, dict] = {}
    for name in settings.settings:
        corpus = build_corpus(out, name, settings, progress)
        table1 = settings.table1_settings(name, corpus)
        step(f"setting {name}: the hybrid baseline over seeds {', '.join(map(str, settings.seeds))}")
        runs = finish_runs(out / name, table1, progress, announce=step)
        step(f"setting {name}: decoding {UNSEEN_ENGINE_TEST}")
        reports = {}
        for run in runs:
            tested = json.loads(run.decoded("test").read_text(encoding="utf-8"))
            held = decode_held_out(run, settings.decode, out / name / WORD_LM_DIR, settings.setup.threads)
            reports[run.seed] = {
                "test": tested,
                UNSEEN_ENGINE_TEST: held,
                "metrics": json.loads((run.out / "metrics.json").read_text(encoding="utf-8")),
            }
        results[name] = summarize_setting(corpus, reports, settings.held_out_engine)
        results[name]["wer_by_voice"] = wer_by_voice(corpus, runs)
    summary = {
        "settings": json.loads(json.dumps(dataclasses.asdict(settings))),
        "augmentation": AUGMENT,
        "goal_ratio": GOAL_RATIO,
        "this_call_seconds": round(time.time() - started, 1),
        "results": results,
        "comparisons": compare_settings(results, key="wer_pct"),
    }
    atomic_write_text(out / RESULTS_JSON, json.dumps(summary, indent=2) + "\n")
    atomic_write_text(out / RESULTS_MD, format_asr_engine_study(summary))
    print(f"\nresults: {out / RESULTS_MD}", flush=True)
    return summary


def speaker_voices(corpus: Path) -> dict[str, str]:
    """Speaker id -> who speaks, from ``corpus.json``: ``engine:voice`` for flite and festival, ``espeak`` for eSpeak NG
    (its many voice + variant pairs together)."""
    metadata = json.loads((Path(corpus) / "corpus.json").read_text(encoding="utf-8"))
    return {str(s["speaker"]): f"{s['engine']}:{s['voice']}" if s.get("engine", "espeak") != "espeak" else "espeak"
            for speakers in metadata["speakers"].values() for s in speakers}  # fmt: skip


def wer_by_voice(corpus: Path, runs: list[Table1Run]) -> dict[str, dict[str, dict[str, float]]]:
    """Per test set and test speakers' voice (``speaker_voices``): the WER (%) of the pooled utterances of each run,
    mean over runs, and the reference words it counts (``decode/<split>.utterances.jsonl``)."""
    voices = speaker_voices(corpus)
    result: dict[str, dict[str, dict[str, float]]] = {}
    for split in TEST_SETS:
        per_run: dict[str, list[float]] = {}
        words: dict[str, int] = {}
        for run in runs:
            errors: dict[str, int] = {}
            counts: dict[str, int] = {}
            rows = run.out / "decode" / f"{split}.utterances.jsonl"
            for line in rows.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                voice = voices[row["utt_id"].split("-")[0]]
                errors[voice] = errors.get(voice, 0) + row["substitutions"] + row["deletions"] + row["insertions"]
                counts[voice] = counts.get(voice, 0) + len(row["reference"].split())
            for voice in counts:
                per_run.setdefault(voice, []).append(100 * errors[voice] / counts[voice])
                words[voice] = counts[voice]
        result[split] = {voice: {"wer_pct": sum(v) / len(v), "words": words[voice]}
                         for voice, v in sorted(per_run.items())}  # fmt: skip
    return result


def summarize_setting(corpus: Path, reports: dict[int, dict], held_out_engine: str) -> dict[str, Any]:
    """WER (%) and frame accuracy per test set over seeds, the ratio of the means and the paired test of the gap."""
    from crossdistill.experiments.significance import seed_test
    from crossdistill.experiments.vanilla_runs import summarize_seeds

    metadata = json.loads((Path(corpus) / "corpus.json").read_text(encoding="utf-8"))
    wer = {split: summarize_seeds({seed: 100 * r[split]["wer"] for seed, r in reports.items()}) for split in TEST_SETS}
    in_domain, unseen = wer["test"]["mean"], wer[UNSEEN_ENGINE_TEST]["mean"]
    ratio = unseen / in_domain if in_domain > 0 else None
    per_seed = {split: wer[split]["per_seed"] for split in TEST_SETS}
    counts = metadata["counts"]
    train_voices = metadata.get("voices_per_split", {}).get("train", [])
    gap = seed_test([per_seed[UNSEEN_ENGINE_TEST][s] - per_seed["test"][s] for s in per_seed["test"]])
    return {
        "corpus": str(corpus),
        "engines_in_training": sorted({v.split(":")[0] if ":" in v else "espeak" for v in train_voices}),
        "held_out_engine": held_out_engine,
        "training_utterances": counts["train"]["utterances"],
        "test_utterances": {split: counts[split]["utterances"] for split in TEST_SETS},
        "epochs": {seed: r["metrics"]["epochs"] for seed, r in reports.items()},
        "wer_pct": wer,
        "frame_accuracy": {
            seed: {"test": r["metrics"]["test_frame_accuracy"], **r["metrics"].get("extra_test_frame_accuracy", {})}
            for seed, r in reports.items()
        },
        "tuned": {seed: tuned(r["test"]) for seed, r in reports.items()},
        "ratio_of_means": ratio,
        "meets_goal": None if ratio is None else ratio <= GOAL_RATIO,
        "gap_test": seed_test_record(gap),
    }


def tuned(decoded: dict[str, Any]) -> dict[str, float]:
    """The LM weight and word score a decoding used (tuned on dev)."""
    return {key: decoded["search"][key] for key in ("lm_weight", "word_score")}


def format_asr_engine_study(summary: dict[str, Any]) -> str:
    """The markdown report of ``asr_engine_study.json``."""
    from crossdistill.experiments.significance import ALPHA

    results, study = summary["results"], summary["settings"]
    held, aug = study["held_out_engine"], summary["augmentation"]
    lines = [
        f"# Paper 001's hybrid baseline on an engine it never heard ({held})",
        "",
        f"Corpus preset `{study['setup']['preset']}` (corpus seed {study['setup']['corpus_seed']}), split "
        f"`unseen-engine` with `{held}` held out; Table 1's baseline cell (no LM distillation), training seeds "
        f"{', '.join(map(str, study['seeds']))}, each run at its best dev frame accuracy. WER with the lexicon and "
        f"trigram word LM, LM weight and word score tuned on dev and used for both test sets: `test` (in-domain: new "
        f"voices of the training engines) and `{UNSEEN_ENGINE_TEST}` (speakers of {held} reading test's sentences). "
        f"Ratio: the mean held-out-engine WER over the mean in-domain WER; issue 15's goal is at most "
        f"{summary['goal_ratio']:g}. `all+augment`: `crossdistill data augment --noise-snr "
        f"{aug['noise_snr_db'][0]:g}:{aug['noise_snr_db'][1]:g} --reverb {aug['reverb']:g}` (3-way speed) on the "
        "`all` corpus.",
        "",
        "| setting | engines in training | training utterances | epochs | in-domain test WER | held-out engine WER | "
        "ratio | ≤ 2x? |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        ratio = "n/a" if r["ratio_of_means"] is None else f"{r['ratio_of_means']:.2f}"
        met = {True: "yes", False: "no", None: "n/a"}[r["meets_goal"]]
        epochs = ",".join(sorted({str(e) for e in r["epochs"].values()}))
        lines.append(f"| {name} | {', '.join(r['engines_in_training'])} | {r['training_utterances']:,} | {epochs} | "
                     f"{_mean_std(r['wer_pct']['test'])} | {_mean_std(r['wer_pct'][UNSEEN_ENGINE_TEST])} | {ratio} | "
                     f"{met} |")  # fmt: skip
    lines += ["", "Per seed (WER in-domain / held-out engine, %; frame accuracy in-domain / held-out engine):", ""]
    for name, r in results.items():
        wer = r["wer_pct"]
        pairs = [f"seed {s}: {wer['test']['per_seed'][s]:.2f} / {wer[UNSEEN_ENGINE_TEST]['per_seed'][s]:.2f} "
                 f"({_accuracy(r['frame_accuracy'][s], 'test')} / "
                 f"{_accuracy(r['frame_accuracy'][s], UNSEEN_ENGINE_TEST)})"
                 for s in wer["test"]["per_seed"]]  # fmt: skip
        lines.append(f"* {name}: {'; '.join(pairs)}")
    lines += ["", "WER by who speaks in each test set (mean over seeds; eSpeak NG's voices together; reference words):",
              ""]  # fmt: skip
    for name, r in results.items():
        for split, voices in r.get("wer_by_voice", {}).items():
            cells = [f"{voice} {v['wer_pct']:.1f} % ({v['words']:,})" for voice, v in voices.items()]
            lines.append(f"* {name}, `{split}`: {'; '.join(cells)}")
    lines += [
        "",
        "## Paired tests over seeds",
        "",
        "Differences in WER percentage points per seed (the same training seed in both); `<0` means fewer errors. "
        "The settings' corpora differ in their training and test speakers, so these tests speak to training-seed "
        f'noise only. "Detectable" is the |mean difference| the paired t-test finds with 80 % power at the {ALPHA:g} '
        "level at the observed spread.",
        "",
    ]
    return "\n".join(lines + paired_test_rows(results, summary["comparisons"])) + "\n"


def _accuracy(accuracies: dict[str, float], split: str) -> str:
    return f"{100 * accuracies[split]:.1f} %" if split in accuracies else "n/a"


def _mean_std(summary: dict) -> str:
    std = summary["std"]
    return f"{summary['mean']:.2f} %" if math.isnan(std) else f"{summary['mean']:.2f} ± {std:.2f} %"
