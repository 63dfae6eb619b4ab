"""What paper 001's hybrid experiments share: a corpus, its units folder, the three LM teachers and their caches.

``prepare_asr_setup(out, settings)`` builds, under ``out``::

    corpus/                         ``crossdistill asr data synth --preset P`` (unless ``settings.corpus`` names one)
    cache/                          the fbank features of every split (``crossdistill.data.asr.features``)
    units/                          senone tree, phones, sentencepiece subwords, frame labels, LM text per unit
    lms/<unit>/                     the LSTM LM over senones, phones, subwords (``crossdistill asr lm train``)
    lms/<unit>/posteriors/<key>/    its frame-wise posterior cache over every split (``crossdistill asr lm posteriors``)
    word_lm/                        the trigram word LM of hybrid decoding (KenLM's lmplz), when lmplz is installed

Each stage calls the function behind its command, which returns a finished output as it is, finishes an
interrupted one, and refuses a folder made from other inputs or options: so the setup is resumable stage by stage
and safe to call again. ``lms=<out>/lms`` is exactly the layout a hybrid run config reads (``<lms>/<unit>``, the
cache found under ``<lm>/posteriors/`` by its key). Table 1 (``table1``) and the demo (``demo``) use it; the Fig. 3
sweep (``fig3.prepare_inputs``) still has its own copy of the first stages (corpus, units, subword LM).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossdistill.data.asr.units.options import UnitsOptions

LM_UNITS = ("senone", "phone", "subword")  # the teacher LMs of paper 001's Table 1 (hybrid_config.LM_UNITS)
WORD_LM_DIR = "word_lm"


@dataclass(frozen=True)
class AsrSetupSettings:
    """The shared inputs of the hybrid experiments.

    preset: corpus preset (``crossdistill asr data synth``), used (and required) when ``corpus`` is None. corpus: an
    existing corpus folder (with alignments) instead. corpus_seed: the synthesis seed. senones, subwords,
    min_leaf_frames: the units folder's options (``crossdistill asr units``). lm_units: the LMs to train (each with its
    posterior cache).
    lm_overrides: ``key=value`` settings of every LM (``crossdistill asr lm train``), e.g. ``epochs=2``. top_k: rows
    kept per segment in the posterior caches (None: the command's default). jobs: synthesis worker processes (and,
    for Table 1, training runs at once). threads: torch threads of each LM, cache and run.
    """

    preset: str | None = "default"
    corpus: str | None = None
    corpus_seed: int = 0
    senones: int = UnitsOptions.senones
    subwords: int = UnitsOptions.subwords
    min_leaf_frames: int = UnitsOptions.min_leaf_frames
    lm_units: tuple[str, ...] = LM_UNITS
    lm_overrides: tuple[str, ...] = ()
    top_k: int | None = None
    jobs: int = 1
    threads: int = 1

    def units_options(self) -> UnitsOptions:
        return UnitsOptions(senones=self.senones, subwords=self.subwords, min_leaf_frames=self.min_leaf_frames)

    def check(self) -> None:
        """Argument errors, before anything is written (the LM overrides are checked by their config loader)."""
        from crossdistill.data.asr.synth import get_preset

        if self.corpus is None:
            if self.preset is None:
                raise ValueError("give a corpus preset or an existing corpus folder")
            get_preset(self.preset)
        elif not Path(self.corpus).is_dir():
            raise FileNotFoundError(f"--corpus {self.corpus} is not a folder")
        self.units_options().check()
        unknown = [unit for unit in self.lm_units if unit not in LM_UNITS]
        if unknown or len(set(self.lm_units)) != len(self.lm_units):
            raise ValueError(f"LM units must be distinct names among {list(LM_UNITS)}, got {list(self.lm_units)}")
        if self.top_k is not None and self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if self.jobs < 1 or self.threads < 1:
            raise ValueError(f"--jobs and --threads must be >= 1, got {self.jobs} and {self.threads}")


@dataclass(frozen=True)
class AsrSetup:
    """The prepared inputs.

    root: the setup's folder. corpus, units, lms (``lms/<unit>`` LM folders), features_cache: paths a hybrid run
    reads. posteriors: unit -> its cache folder. lm_metrics: unit -> the LM's ``metrics.json`` (perplexities).
    word_lm: the built trigram's folder (None: lmplz is not installed). timings_s: wall seconds of each stage in
    this call.
    """

    root: Path
    corpus: Path
    units: Path
    lms: Path
    features_cache: Path
    posteriors: dict[str, Path]
    lm_metrics: dict[str, dict[str, Any]]
    word_lm: Path | None
    timings_s: dict[str, float] = field(default_factory=dict)

    def train_overrides(self) -> list[str]:
        """``key=value`` overrides that point a hybrid run config at these inputs."""
        return [f"corpus={self.corpus}", f"units={self.units}", f"lms={self.lms}",
                f"features_cache={self.features_cache}"]  # fmt: skip

    @property
    def word_lm_cache(self) -> Path:
        """The root under which the word LM is cached (``HybridDecodeOptions.lm_cache``)."""
        return self.root / WORD_LM_DIR


def lm_config_overrides(units: Path, unit: str, out: Path, settings: AsrSetupSettings) -> list[str]:
    """The ``key=value`` settings of the LM over ``unit`` (``settings.lm_overrides`` win over the defaults here)."""
    return [f"units={units}", f"unit={unit}", f"out={out}", f"threads={settings.threads}",
            "trainer.progress_bar=false", *settings.lm_overrides]  # fmt: skip


def prepare_asr_setup(
    out: str | Path, settings: AsrSetupSettings, progress: bool = False, announce: Callable[[str], Any] | None = None
) -> AsrSetup:
    """Build (or reuse, or finish) every shared input under ``out``; ``announce`` is called with each stage's name."""
    from crossdistill.data.asr.librispeech import load_asr_corpus
    from crossdistill.data.asr.synth import synthesize_asr_corpus
    from crossdistill.data.asr.units import build_units, units_inputs
    from crossdistill.data.asr.word_lm import build_word_lm, kenlm_available
    from crossdistill.teachers.lm.config import load_lm_train_config
    from crossdistill.teachers.lm.posteriors import CacheOptions, build_posterior_cache
    from crossdistill.teachers.lm.training import train_lm
    from crossdistill.train.asr.run_folder import quiet_lightning

    settings.check()
    out = Path(out).absolute()
    lm_configs = {  # every LM config is checked before the first stage writes anything
        unit: load_lm_train_config(None, lm_config_overrides(out / "units", unit, out / "lms" / unit, settings))
        for unit in settings.lm_units
    }
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    say = announce or (lambda message: None)

    def timed(stage: str, message: str, work: Callable[[], Any]) -> Any:
        say(message)
        started = time.perf_counter()
        result = work()
        timings[stage] = round(time.perf_counter() - started, 1)
        return result

    if settings.corpus is None:
        corpus = timed("corpus", f"synthesizing the '{settings.preset}' ASR corpus with eSpeak NG",
                       lambda: synthesize_asr_corpus(out / "corpus", settings.preset, seed=settings.corpus_seed,
                                                     jobs=settings.jobs, progress=progress))  # fmt: skip
    else:
        corpus = Path(settings.corpus).absolute()
    corpus_data = load_asr_corpus(corpus, progress=progress)  # validated once, for the units and the word LM
    features_cache, units = out / "cache", out / "units"
    timed("units", "units: senone tree, subwords, frame labels, LM text (and the fbank features)",
          lambda: build_units(units_inputs(corpus_data, features_cache, progress), units, settings.units_options(),
                              progress=progress))  # fmt: skip
    posteriors, lm_metrics = {}, {}
    if settings.jobs > 1 and len(lm_configs) > 1:
        lm_metrics = timed("lms", f"training the {', '.join(lm_configs)} LM teachers, {settings.jobs} at once",
                           lambda: train_lms_in_processes(lm_configs, settings.jobs))  # fmt: skip
    for unit, config in lm_configs.items():
        if unit not in lm_metrics:
            with quiet_lightning(True):  # the LM's own log holds its progress; Lightning's start-up notices stay out
                lm_metrics[unit] = timed(f"lm_{unit}", f"training the {unit} LM teacher", lambda c=config: train_lm(c))
        summary = timed(
            f"posteriors_{unit}",
            f"frame-wise {unit} LM posteriors of every utterance",
            lambda u=unit: build_posterior_cache(
                CacheOptions(
                    lm=out / "lms" / u,
                    corpus=corpus,
                    units=units,
                    top_k=settings.top_k,
                    threads=settings.threads,
                    progress=progress,
                )
            ),
        )
        posteriors[unit] = Path(summary["cache"])
    word_lm = None
    if kenlm_available() and corpus_data.lm_text is not None:  # built once here: runs decoding in parallel never
        word_lm = timed("word_lm", "the trigram word LM of decoding (KenLM lmplz)",  # race to build it
                        lambda: build_word_lm(corpus_data.lm_text, cache_dir=out / WORD_LM_DIR).folder)  # fmt: skip
    return AsrSetup(out, corpus, units, out / "lms", features_cache, posteriors, lm_metrics, word_lm, timings)


def train_lms_in_processes(lm_configs: dict[str, Any], jobs: int) -> dict[str, dict[str, Any]]:
    """Train the LMs ``jobs`` at a time, each in a fresh process (``train_lm`` resumes or returns a finished one, so
    this is as resumable as the sequential loop); returns unit -> the LM's metrics."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no torch thread pool inherited by fork
    with ProcessPoolExecutor(max_workers=min(jobs, len(lm_configs)), mp_context=context) as pool:
        futures = {unit: pool.submit(_train_lm_quietly, config) for unit, config in lm_configs.items()}
        metrics = {}
        for unit, future in futures.items():
            try:
                metrics[unit] = future.result()
            except Exception as error:
                raise RuntimeError(f"training the {unit} LM failed ({error}); see {lm_configs[unit].out}") from error
    return metrics


def _train_lm_quietly(config: Any) -> dict[str, Any]:
    from crossdistill.teachers.lm.training import train_lm
    from crossdistill.train.asr.run_folder import quiet_lightning

    with quiet_lightning(True):
        return train_lm(config)
