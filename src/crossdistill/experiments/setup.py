"""What every experiment of paper 000 shares: a corpus, one pre-trained acoustic module, one teacher and its cache.

``prepare_setup`` builds them under one folder, reusing whatever an earlier call left there (each stage writes
atomically and is keyed by what produced it), so the demo and the benchmark can be stopped and started again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crossdistill.data.splits import DEFAULT_SPLIT
from crossdistill.train.pretrain_options import PretrainOptions

if TYPE_CHECKING:  # importing crossdistill.data.augment takes seconds; every CLI call imports this module
    from crossdistill.data.augment.options import AugmentOptions


@dataclass(frozen=True)
class SetupSettings:
    """Corpus preset, student preset and the pre-training and teacher budgets (defaults: the calibrated benchmark).

    Pre-training uses ``PretrainOptions``' defaults (front end included) except for the student preset and the
    number of epochs named here.
    """

    corpus_preset: str = "default"
    corpus_split: str = DEFAULT_SPLIT  # crossdistill.data.splits: random, unseen-utterance or unseen-speaker
    corpus_label_noise: float | None = None  # share of wrong training labels (data.label_noise); None: the preset's
    corpus_engines: str | None = None  # synthesis engines (``--engines``: espeak,flite,festival or all); None: eSpeak
    corpus_held_out_engine: str | None = None  # with corpus_split="unseen-engine": the engine only tested on
    student_preset: str = PretrainOptions.preset
    pretrain_epochs: int = 5  # the calibrated benchmark's budget (docs/data.md)
    teacher_arch: str = "transformer"
    teacher_epochs: int = 10
    with_teacher: bool = True  # False: no teacher and no cache (enough for the vanilla student)
    seed: int = 0
    threads: int = 1
    jobs: int = 2


@dataclass(frozen=True)
class Setup:
    corpus: Path
    acoustic: Path
    teacher: Path | None  # None: the settings asked for no teacher
    teacher_cache: Path | None
    teacher_metrics: dict
    pretrain_metrics: dict
    timings_s: dict = field(default_factory=dict)

    def train_overrides(self) -> list[str]:
        """``key=value`` overrides that point a training config (or a grid) at this setup."""
        cache = [f"teacher_cache={self.teacher_cache}"] if self.teacher_cache is not None else []
        return [f"corpus={self.corpus}", f"acoustic={self.acoustic}", *cache]

    def teacher_text_error(self) -> dict[str, float]:
        return {s: self.teacher_metrics["splits"][s]["intent_error"] for s in ("train", "valid", "test")}


def step(message: str) -> float:
    print(f"\n== {message}", flush=True)
    return time.time()


def prepare_setup(out_dir: Path, settings: SetupSettings, augment: AugmentOptions | None = None) -> Setup:
    """Synthesize the corpus, pre-train the acoustic module, fine-tune the teacher and build its cache.

    ``augment``: run ``crossdistill data augment`` with these options on the corpus (into ``corpus-augmented``) and
    use its result for everything after synthesis.
    """
    from crossdistill.data.augment.run import augment_corpus
    from crossdistill.data.corpus import load_corpus
    from crossdistill.data.synth import synthesize_corpus
    from crossdistill.teachers.text.cache import CacheOptions, build_teacher_cache
    from crossdistill.teachers.text.training import TrainOptions, train_teacher
    from crossdistill.train.pretrain import pretrain_acoustic

    out = Path(out_dir).absolute()
    timings = {}

    engines = settings.corpus_engines or "eSpeak NG"
    t = step(f"synthesizing the '{settings.corpus_preset}' corpus ({settings.corpus_split} split) with {engines}")
    corpus_dir = synthesize_corpus(out / "corpus", preset=settings.corpus_preset, seed=settings.seed,
                                   jobs=settings.jobs, split=settings.corpus_split,
                                   label_noise=settings.corpus_label_noise, engines=settings.corpus_engines,
                                   held_out_engine=settings.corpus_held_out_engine)  # fmt: skip
    timings["synthesis"] = time.time() - t
    if augment is not None:
        t = step("augmenting the corpus (crossdistill data augment)")
        corpus_dir = augment_corpus(corpus_dir, out / "corpus-augmented", augment,
                                    jobs=settings.jobs, progress=False)  # fmt: skip
        timings["augmentation"] = time.time() - t
    corpus = load_corpus(corpus_dir)

    t = step("pre-training the acoustic module on phoneme and word targets")
    acoustic = out / "acoustic"
    pretrain = pretrain_acoustic(
        PretrainOptions(corpus=str(corpus_dir), out=str(acoustic), preset=settings.student_preset,
                        epochs=settings.pretrain_epochs, seed=settings.seed, threads=settings.threads,
                        accelerator="cpu")
    )  # fmt: skip
    timings["pretrain"] = time.time() - t

    if not settings.with_teacher:
        return Setup(Path(corpus_dir), acoustic, None, None, {}, pretrain, timings)
    t = step(f"training the text teacher ({settings.teacher_arch}) on the transcripts")
    teacher_dir = out / "teacher"
    if (teacher_dir / "metrics.json").is_file():
        teacher = json.loads((teacher_dir / "metrics.json").read_text())
    else:
        options = TrainOptions(arch=settings.teacher_arch, epochs=settings.teacher_epochs, seed=settings.seed,
                               threads=settings.threads)  # fmt: skip
        teacher = train_teacher(corpus, teacher_dir, options)
    cache = build_teacher_cache(teacher_dir, corpus, CacheOptions(seed=settings.seed))
    timings["teacher"] = time.time() - t
    return Setup(Path(corpus_dir), acoustic, teacher_dir, Path(cache), teacher, pretrain, timings)
