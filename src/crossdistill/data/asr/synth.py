"""Paper 001's synthetic speech corpus: eSpeak NG voices reading the AM sentences, in the LibriSpeech layout.

``synthesize_asr_corpus`` plans everything in the parent from the seed (text splits, speakers, who reads
what), then synthesizes one speaker per task in a fresh worker process (paper 000's machinery:
``crossdistill.data.synth.speak_utterance`` and ``run_in_fresh_processes``; eSpeak NG keeps state that only a
fresh process resets), so the bytes written do not depend on ``jobs`` or on interruptions.

Layout (``crossdistill.data.asr.librispeech`` reads it)::

    DIR/{train,dev,test}/<speaker>/<chapter>/<speaker>-<chapter>-<nnnn>.flac   16 kHz mono, 16-bit FLAC
    DIR/{train,dev,test}/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt
    DIR/test_unseen_engine/...                 only with ``--split unseen-engine``: the held-out engine's speakers
    DIR/lm/text.txt, DIR/lm/valid.txt          LM-train and held-out LM text, one sentence per line
    DIR/lexicon.txt                            eSpeak G2P of every word of every split and of the LM text
    DIR/alignments/{split}.words.ctm           words, whole milliseconds
    DIR/alignments/{split}.phones.ctm          ARPAbet phones (eSpeak's PHONEME events through
                                               ``espeak_to_arpabet``), SIL in between: they tile the audio
    DIR/corpus.json                            options, text sources, speakers, counts (written last)

Each speaker reads ``utterances_per_speaker`` consecutive sentences of its split's text as one chapter.

``--split unseen-engine --held-out-engine NAME`` (the FSC layout's split, ``crossdistill.data.splits``, with the same
checks, ``data.synth.check_held_out_engine``): train, dev and test are planned as without it from the other engines,
and as many speakers as test has, all of engine NAME, form a second test set ``test_unseen_engine``; its ``j``-th
speaker reads the same sentences as test's ``j``-th, so the two test sets differ in who speaks, not in what is said.
Audio is cut to a whole number of milliseconds (at most 15 samples of trailing padding), so the 3-decimal
CTM times tile it exactly.

Resuming: progress is kept in ``DIR/.synth-in-progress/`` (the options, and one ``<speaker>.json`` per
finished speaker, written after its audio); the loader refuses a folder that has it. A rerun with the same
options skips finished speakers, rewrites unfinished ones from scratch, and writes the shared files;
every file is written atomically.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from crossdistill.common.atomic import atomic_path, atomic_write_text
from crossdistill.data.alignments import Segment, transcription_words
from crossdistill.data.asr.alignments import tile_phones
from crossdistill.data.asr.ctm import write_ctm
from crossdistill.data.asr.librispeech import (
    EXTRA_TEST_SPLITS,
    LM_TEXT_FILE,
    LM_VALID_FILE,
    METADATA_FILE,
    SAMPLE_RATE,
    SYNTHETIC_SPLITS,
    UNFINISHED_MARKER,
)
from crossdistill.data.asr.phones import espeak_sequence_to_arpabet
from crossdistill.data.asr.text import AM_WORDS, SplitFractions
from crossdistill.data.corpus import UNSEEN_ENGINE_TEST
from crossdistill.data.engines.phones import cmu_to_arpabet
from crossdistill.data.speakers import SpeakerConfig, draw_speaker, engine_timbres
from crossdistill.data.splits import DEFAULT_SPLIT, UNSEEN_ENGINE

log = logging.getLogger(__name__)

FORMAT_NAME = "crossdistill-synthetic-librispeech"
FORMAT_VERSION = 1
PRESETS_FILE = "presets.yaml"
LEXICON_FILE = "lexicon.txt"
OPTIONS_FILE = "options.json"
SPEAKER_ID_BASE = 1000  # speaker ids 1000, 1001, ... (train first, then dev, then test)
CHAPTER_ID_BASE = 10000  # one chapter per speaker: 10000 + the speaker's index
MS_SAMPLES = SAMPLE_RATE // 1000
MAX_VOICE_DRAWS = 1000
PAUSE = "_"  # eSpeak's short pause
SPLIT_KINDS = (
    DEFAULT_SPLIT,
    UNSEEN_ENGINE,
)  # data.splits' kinds that this layout has (its voices stay disjoint anyway)

# Independent random streams (distinct from paper 000's 1-5 only by convention: the seeds differ anyway).
_STREAM_SPEAKERS, _STREAM_UTTERANCE, _STREAM_CHANNEL = 11, 12, 13
_STREAM_ENGINE_VOICES, _STREAM_ENGINE = 14, 15  # several engines: their voices dealt to splits, each speaker's engine


@dataclass(frozen=True)
class AsrPreset:
    """A corpus configuration (see ``presets.yaml``).

    Fields:
      name: preset name.
      difficulty: speaker variability in [0, 1] (paper 000's ranges).
      text: text source, ``sample`` or ``debian``.
      speakers: speakers per split (``train``, ``dev``, ``test``).
      utterances_per_speaker: sentences each speaker reads.
      max_words: the longest AM sentence, in words (sentences have at least 4).
      closed_vocabulary: if set, AM sentences use only this many most frequent LM words
        (``text.restrict_to_vocabulary``).
      am_fractions: if set, the word shares of the text's AM parts (``am_train``, ``am_dev``, ``am_test``; the rest
        of ``text.SplitFractions`` at its defaults): a closed vocabulary leaves few sentences of the default shares.
    """

    name: str
    difficulty: float
    text: str
    speakers: dict[str, int]
    utterances_per_speaker: int
    max_words: int = AM_WORDS[1]
    closed_vocabulary: int | None = None
    am_fractions: dict[str, float] | None = None

    def text_options(self) -> dict[str, Any]:
        """The text restrictions that differ from the defaults (recorded in a corpus's options only when set, so
        corpora made before these options existed keep their identity)."""
        options = {"max_words": self.max_words} if self.max_words != AM_WORDS[1] else {}
        if self.closed_vocabulary is not None:
            options["closed_vocabulary"] = self.closed_vocabulary
        if self.am_fractions is not None:
            options["am_fractions"] = dict(self.am_fractions)
        return options

    def text_fractions(self) -> SplitFractions | None:
        """The ``text.SplitFractions`` of this preset's text (None: the source's defaults)."""
        return None if self.am_fractions is None else SplitFractions(**self.am_fractions)


@functools.cache
def _presets() -> dict[str, Any]:
    text = resources.files("crossdistill.data.asr").joinpath(PRESETS_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)["presets"]


def preset_names() -> tuple[str, ...]:
    """The shipped presets."""
    return tuple(_presets())


def get_preset(name: str) -> AsrPreset:
    """The preset called ``name``, checked; ``ValueError`` lists the known ones otherwise."""
    presets = _presets()
    if name not in presets:
        raise ValueError(f"--preset {name!r} is unknown; choose one of {', '.join(presets)}")
    entry = presets[name]
    preset = AsrPreset(
        name,
        float(entry["difficulty"]),
        str(entry["text"]),
        {split: int(entry["speakers"].get(split, 0)) for split in SYNTHETIC_SPLITS},
        int(entry["utterances_per_speaker"]),
        int(entry.get("max_words", AM_WORDS[1])),
        None if entry.get("closed_vocabulary") is None else int(entry["closed_vocabulary"]),
        None if entry.get("am_fractions") is None else {k: float(v) for k, v in entry["am_fractions"].items()},
    )
    if preset.am_fractions is not None:
        unknown = set(preset.am_fractions) - {"am_train", "am_dev", "am_test"}
        if unknown:
            raise ValueError(f"{PRESETS_FILE}: preset {name!r} has am_fractions keys {sorted(unknown)}")
        try:
            preset.text_fractions()
        except ValueError as error:
            raise ValueError(f"{PRESETS_FILE}: preset {name!r}: {error}") from None
    if preset.max_words < AM_WORDS[0]:
        raise ValueError(f"{PRESETS_FILE}: preset {name!r} has max_words {preset.max_words} < {AM_WORDS[0]}")
    if preset.closed_vocabulary is not None and preset.closed_vocabulary < 1:
        raise ValueError(f"{PRESETS_FILE}: preset {name!r} has closed_vocabulary {preset.closed_vocabulary} < 1")
    if not 0 <= preset.difficulty <= 1:
        raise ValueError(f"{PRESETS_FILE}: preset {name!r} has difficulty {preset.difficulty} outside [0, 1]")
    if min(preset.speakers.values()) < 1 or preset.utterances_per_speaker < 1:
        raise ValueError(f"{PRESETS_FILE}: preset {name!r} needs at least one speaker per split and utterance each")
    return preset


@dataclass(frozen=True)
class SpeakerPlan:
    """One speaker: split, stream index, LibriSpeech ids, voice configuration and the sentences read."""

    split: str
    index: int
    speaker: int
    chapter: int
    config: SpeakerConfig
    sentences: tuple[str, ...]

    @property
    def folder(self) -> Path:
        """The chapter folder relative to the corpus root."""
        return Path(self.split) / str(self.speaker) / str(self.chapter)

    def utt_id(self, k: int) -> str:
        """Id of the ``k``-th sentence's utterance."""
        return f"{self.speaker}-{self.chapter}-{k:04d}"


def plan_speakers(
    preset: AsrPreset,
    seed: int,
    sentences: dict[str, Sequence[str]],
    engine_voices: dict[str, Sequence[str]] | None = None,
    held_out_engine: str | None = None,
) -> list[SpeakerPlan]:
    """Draw every speaker's voice and assign the sentences, deterministically from ``seed``.

    Speakers are disjoint across splits by id and also by voice (eSpeak: language voice + variant): a voice
    drawn for one split is redrawn (from the speaker's next random stream) for another. With several engines
    (``engine_voices``, ``EngineSelection.voices``; default eSpeak alone) each speaker draws its engine uniformly,
    and the voices of flite and festival, which are few, are dealt to the splits beforehand (``deal_voices``) so
    that every split hears every engine. A split's speakers read its sentences in order,
    ``utterances_per_speaker`` each; if the split has fewer sentences than that needs, they are read again from
    the start (``corpus.json`` counts the repeats).

    ``held_out_engine`` (the unseen-engine split): train, dev and test are planned from the other engines exactly as
    a corpus of those engines alone; then ``preset.speakers["test"]`` speakers of this engine (the next ids) read
    test's sentences, speaker ``j`` the same as test's ``j``-th, in the split ``test_unseen_engine``. Those speakers
    depend only on the preset, the seed and the held-out engine's voices, not on the other engines, so corpora that
    hold out the same engine share that test set byte for byte.
    """
    engine_voices = {"espeak": ()} if engine_voices is None else engine_voices
    seen = {engine: voices for engine, voices in engine_voices.items() if engine != held_out_engine}
    dealt: dict[str, list[str] | None] = deal_voices(seen, np.random.default_rng([seed, _STREAM_ENGINE_VOICES]))
    voices_of = dict.fromkeys(SYNTHETIC_SPLITS, seen)
    reads = {split: split for split in SYNTHETIC_SPLITS}
    counts = dict(preset.speakers)
    if held_out_engine is not None:
        voices_of[UNSEEN_ENGINE_TEST] = {held_out_engine: engine_voices[held_out_engine]}
        dealt[UNSEEN_ENGINE_TEST], reads[UNSEEN_ENGINE_TEST] = None, "test"
        counts[UNSEEN_ENGINE_TEST] = preset.speakers["test"]
    plans: list[SpeakerPlan] = []
    voice_split: dict[str, str] = {}
    index = 0
    for split in voices_of:
        pool = list(sentences[reads[split]])
        if not pool:
            raise ValueError(f"the text has no {split} sentences to synthesize")
        for j in range(counts[split]):
            speaker = SPEAKER_ID_BASE + index
            for attempt in range(MAX_VOICE_DRAWS):
                rng = np.random.default_rng([seed, _STREAM_SPEAKERS, index, attempt])
                engine_rng = np.random.default_rng([seed, _STREAM_ENGINE, index, attempt])
                config = draw_speaker(engine_rng, rng, str(speaker), preset.difficulty, voices_of[split], dealt[split])
                if voice_split.setdefault(config.voice_id, split) == split:
                    break
            else:
                raise ValueError(f"could not draw a voice for speaker {speaker} that no other split uses")
            start = j * preset.utterances_per_speaker
            read = tuple(pool[(start + k) % len(pool)] for k in range(preset.utterances_per_speaker))
            plans.append(SpeakerPlan(split, index, speaker, CHAPTER_ID_BASE + index, config, read))
            index += 1
    return plans


def deal_voices(engine_voices: dict[str, Sequence[str]], rng: np.random.Generator) -> dict[str, list[str] | None]:
    """What each split's speakers may sound like (``speakers.engine_timbres`` items; None: anything, eSpeak alone).

    Every eSpeak variant is open to every split (the redraw keeps language voice + variant disjoint); each other
    engine's voices are shuffled and dealt one to dev, one to test and the rest to train (with two voices: train
    and test; with one: train only).
    """
    if list(engine_voices) == ["espeak"]:
        return dict.fromkeys(SYNTHETIC_SPLITS)
    dealt: dict[str, list[str]] = {split: [] for split in SYNTHETIC_SPLITS}
    for engine, voices in engine_voices.items():
        if engine == "espeak":
            for split in SYNTHETIC_SPLITS:
                dealt[split] += engine_timbres({engine: voices})
            continue
        order = [f"{engine}:{voices[i]}" for i in rng.permutation(len(voices))]
        held_out = {3: ("dev", "test"), 2: ("test",)}.get(min(len(order), 3), ())
        for split in held_out:
            dealt[split].append(order.pop())
        dealt["train"] += order
    return dealt


@dataclass(frozen=True)
class SpeakerTask:
    """What a worker needs: the speaker's plan, the seed, the corpus root and the progress folder."""

    plan: SpeakerPlan
    seed: int
    out_root: str
    state_dir: str


class UnalignableError(ValueError):
    """The engine's words do not give one segment per transcript word (the utterance is left out)."""


def alignment_in_ms(spoken, sentence: str, duration_ms: int) -> tuple[list[Segment], tuple[Segment, ...]]:
    """Word segments and tiling phone segments of a ``SpokenUtterance``, on whole milliseconds.

    Words carry the sentence's (upper-case) words. The eSpeak phonemes go through
    ``espeak_sequence_to_arpabet`` (the table plus its context rule, the same as the lexicon's G2P), the
    CMU-set phones of flite and festival through ``engines.phones.cmu_to_arpabet``; a
    phoneme of several phones shares its span equally (``A@`` -> ``AA R``), one that gets no phone of its
    own gives its time to the phone before it, and gaps (pauses) become ``SIL``. Raises ``UnalignableError``
    when the engine's words do not match the sentence one to one (e.g. it merged a word away) or a phoneme has
    no ARPAbet mapping.
    """
    words = sentence.split()
    labels = [label for label, _, _ in spoken.words]
    if labels != transcription_words(sentence.lower()) or len(labels) != len(words):
        raise UnalignableError(f"the engine's words {labels} do not match the sentence")

    def ms(sample: int) -> int:
        return min(round(spoken.seconds(sample) * 1000), duration_ms)

    word_segments = []
    for word, (_, start, end) in zip(words, spoken.words, strict=True):
        if ms(end) <= ms(start):
            raise UnalignableError(f"the word {word!r} has no duration")
        word_segments.append(Segment(word, ms(start) / 1000, ms(end) / 1000))

    # The context rule restarts after a pause; pauses are gaps between the segments here, so put them back.
    # It also restarts at each word's first phoneme: the rule is about eSpeak's spelling inside a word (the
    # lexicon applies it word by word), and a word-initial R after an R-final word is a phone of its own.
    word_starts = {start for _, start, _ in spoken.words[1:]}
    names, spans, previous_end = [], [], None
    for name, start, end in spoken.phonemes:
        if previous_end is not None and (start != previous_end or start in word_starts):
            names.append(PAUSE)
        names.append(name)
        spans.append((ms(start), ms(end)))
        previous_end = end
    try:
        if spoken.phone_set == "cmu":
            mapped = [cmu_to_arpabet(name) for name, _, _ in spoken.phonemes]
        else:
            mapped = [
                phones for name, phones in zip(names, espeak_sequence_to_arpabet(names), strict=True) if name != PAUSE
            ]
    except ValueError as error:
        raise UnalignableError(str(error)) from None
    runs: list[list] = []  # [phones, start ms, end ms]
    for phones, (a, b) in zip(mapped, spans, strict=True):
        if not phones and runs and runs[-1][2] == a:
            runs[-1][2] = b  # no phone of its own: its time belongs to the phone before it
        elif phones:
            runs.append([phones, a, b])
    phone_segments = []
    for phones, a, b in runs:
        bounds = [a + (b - a) * i // len(phones) for i in range(len(phones) + 1)]
        phone_segments += [
            Segment(phone, bounds[i] / 1000, bounds[i + 1] / 1000)
            for i, phone in enumerate(phones)
            if bounds[i + 1] > bounds[i]
        ]
    return word_segments, tile_phones(phone_segments, duration_ms / 1000)


def synthesize_speaker(task: SpeakerTask) -> float:
    """Synthesize and write one speaker's chapter, then its ``<speaker>.json``; returns the CPU seconds it took.

    Run it in a fresh process (see ``crossdistill.data.espeak``). An utterance the voice cannot say or that
    cannot be aligned is left out and recorded, with its reason, under ``dropped``.
    """
    import soundfile

    cpu_start = time.process_time()
    from crossdistill.data.effects import build_channel
    from crossdistill.data.engines import open_engine
    from crossdistill.data.engines.base import SynthesisError
    from crossdistill.data.synth import speak_utterance

    plan = task.plan
    engine = open_engine(plan.config.engine)
    channel = build_channel(plan.config, np.random.default_rng([task.seed, _STREAM_CHANNEL, plan.index]), SAMPLE_RATE)
    folder = Path(task.out_root) / plan.folder
    folder.mkdir(parents=True, exist_ok=True)
    lines, utterances, dropped = [], [], []
    for k, sentence in enumerate(plan.sentences):
        utt_id = plan.utt_id(k)
        rng = np.random.default_rng([task.seed, _STREAM_UTTERANCE, plan.index, k])
        try:
            spoken = speak_utterance(engine, plan.config, channel, rng, sentence.lower())
            pcm = spoken.rendered.pcm
            pcm = pcm[: pcm.shape[0] - pcm.shape[0] % MS_SAMPLES]  # whole milliseconds (trailing padding only)
            words, phones = alignment_in_ms(spoken, sentence, pcm.shape[0] // MS_SAMPLES)
        except (UnalignableError, SynthesisError) as error:
            log.warning("skipped %s (%s): %s", utt_id, plan.config.voice_id, error)
            dropped.append({"utt_id": utt_id, "voice": plan.config.voice_id, "sentence": sentence,
                            "reason": str(error)})  # fmt: skip
            continue
        with atomic_path(folder / f"{utt_id}.flac") as tmp:
            soundfile.write(tmp, pcm, SAMPLE_RATE, subtype="PCM_16", format="FLAC")
        lines.append(f"{utt_id} {sentence}\n")
        utterances.append(
            {
                "utt_id": utt_id,
                "num_samples": int(pcm.shape[0]),
                "words": [[s.label, s.start, s.end] for s in words],
                "phones": [[s.label, s.start, s.end] for s in phones],
            }
        )
    atomic_write_text(folder / f"{plan.speaker}-{plan.chapter}.trans.txt", "".join(lines))
    result = {"speaker": plan.speaker, "utterances": utterances, "dropped": dropped}
    atomic_write_text(Path(task.state_dir) / f"{plan.speaker}.json", json.dumps(result, separators=(",", ":")))
    return time.process_time() - cpu_start


def synthesize_asr_corpus(
    out_dir: str | os.PathLike,
    preset: str = "tiny",
    seed: int = 0,
    jobs: int = 1,
    text_source: str | None = None,
    progress: bool = True,
    timings: dict[str, float] | None = None,
    engines: str | Sequence[str] | None = None,
    split: str = DEFAULT_SPLIT,
    held_out_engine: str | None = None,
) -> Path:
    """Synthesize (or finish synthesizing) a corpus into ``out_dir`` and return its path.

    Args:
      out_dir: a new or empty folder, a folder holding an unfinished synthesis with the same options
        (finished then), or a finished corpus with the same options (returned as is).
      preset: a name from ``presets.yaml``.
      seed: every random choice derives from it; same options and seed give byte-identical files.
      jobs: worker processes (0 or less: all cores).
      text_source: override the preset's text source (``sample`` or ``debian``).
      progress: a progress bar (only on a terminal).
      timings: if given, filled with the wall seconds of the stages this call ran: ``text_s`` (text and
        plan), ``speakers_s`` (synthesis), ``speakers_cpu_s`` (the CPU seconds the workers
        spent in their speakers, start-up excluded), ``shared_s`` (CTMs, LM text, lexicon, corpus.json).
      engines: the synthesis engines, ``espeak,flite,festival``-style or ``all`` (default: eSpeak NG alone, the
        corpus made before engines existed); one not installed is skipped with a logged note; the engines and
        voices used are in the options and ``corpus.json``'s ``engines``.
      split: ``random`` (speaker-disjoint, the default) or ``unseen-engine``, which needs ``held_out_engine``: an
        engine of ``engines``, installed, and not the only one, whose speakers form the second test set
        ``test_unseen_engine`` (see ``plan_speakers``). Both are in the options only when given.

    Raises ``ValueError`` before writing anything for an unknown preset or split, a held-out engine that is missing,
    not among ``engines``, not installed or the only one, a folder that holds something else, or a text source that
    cannot be read.
    """
    from crossdistill.data.asr.text import load_text_splits, restrict_to_vocabulary
    from crossdistill.data.engines import parse_engines, resolve_engines
    from crossdistill.data.synth import check_held_out_engine, run_in_fresh_processes

    chosen = get_preset(preset)
    jobs = (os.cpu_count() or 1) if jobs <= 0 else int(jobs)
    if split not in SPLIT_KINDS:
        raise ValueError(f"--split {split!r}: the LibriSpeech-layout corpus has {', '.join(SPLIT_KINDS)}")
    selection = resolve_engines(parse_engines(engines))
    check_held_out_engine(split, held_out_engine, selection)
    held_out = {} if held_out_engine is None else {"split": split, "held_out_engine": held_out_engine}
    options = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "preset": chosen.name,
        "difficulty": chosen.difficulty,
        "speakers": chosen.speakers,
        "utterances_per_speaker": chosen.utterances_per_speaker,
        "text_source": text_source or chosen.text,
        "seed": int(seed),
        **chosen.text_options(),
        **selection.options(),
        **held_out,  # only when given: corpora made before the option keep their identity
    }
    out = Path(out_dir).absolute()
    state = out / UNFINISHED_MARKER
    if _check_out_dir(out, state, options):
        return out
    clock = {"start": time.perf_counter()}
    text = load_text_splits(
        options["text_source"],
        seed=int(seed),
        fractions=chosen.text_fractions(),
        am_words=(AM_WORDS[0], chosen.max_words),
    )
    if chosen.closed_vocabulary is not None:
        text = restrict_to_vocabulary(text, chosen.closed_vocabulary)
    sentences = {"train": text.am_train, "dev": text.am_dev, "test": text.am_test}
    plans = plan_speakers(chosen, int(seed), sentences, selection.voices, held_out_engine)

    state.mkdir(parents=True, exist_ok=True)
    atomic_write_text(state / OPTIONS_FILE, json.dumps(options, indent=1, sort_keys=True) + "\n")
    pending = [p for p in plans if not (state / f"{p.speaker}.json").is_file()]
    for plan in pending:  # a speaker killed half-way starts again from an empty chapter folder
        shutil.rmtree(out / plan.folder, ignore_errors=True)
    tasks = [SpeakerTask(p, int(seed), str(out), str(state)) for p in pending]
    clock["text"] = time.perf_counter()
    preload = ["crossdistill.data.asr.synth", "crossdistill.data.synth", "crossdistill.data.espeak"]
    show = progress and sys.stderr.isatty()
    sizes = [len(p.sentences) for p in pending]
    worker_cpu_s = sum(run_in_fresh_processes(synthesize_speaker, tasks, jobs, show, sizes, preload))

    clock["speakers"] = time.perf_counter()
    results = {p.speaker: json.loads((state / f"{p.speaker}.json").read_text(encoding="utf-8")) for p in plans}
    for folder in (out, out / "lm", out / "alignments"):  # temporaries of a run killed while writing these
        for stale in folder.glob(".*.tmp*"):
            stale.unlink()
    _write_shared_files(out, plans, results, text, options)
    shutil.rmtree(state)
    if timings is not None:
        timings["text_s"] = clock["text"] - clock["start"]
        timings["speakers_s"] = clock["speakers"] - clock["text"]
        timings["speakers_cpu_s"] = worker_cpu_s
        timings["shared_s"] = time.perf_counter() - clock["speakers"]
    return out


def _check_out_dir(out: Path, state: Path, options: dict[str, Any]) -> bool:
    """True when ``out`` already holds this corpus; raises when it holds anything else."""
    if not out.exists():
        return False
    if not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    metadata, saved = out / METADATA_FILE, state / OPTIONS_FILE
    if metadata.is_file():
        found = json.loads(metadata.read_text(encoding="utf-8")).get("options")
        if found != options:
            raise ValueError(f"--out {out} holds a corpus made with other options ({found}); choose another folder")
        shutil.rmtree(state, ignore_errors=True)  # killed after corpus.json, before the progress folder went
        return True
    if state.is_dir():  # ours: the folder was new or empty when the progress folder was made
        found = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else options
        if found != options:
            raise ValueError(
                f"--out {out} holds an unfinished synthesis with other options ({found}); rerun that command to "
                "finish it, or choose another folder"
            )
        return False
    if any(out.iterdir()):
        raise ValueError(f"--out {out} is not empty and holds no synthesis of ours; choose another folder")
    return False


def _write_shared_files(
    out: Path, plans: list[SpeakerPlan], results: dict[int, dict], text, options: dict[str, Any]
) -> None:
    from crossdistill.data.asr.g2p import phonemize
    from crossdistill.data.asr.lexicon import write_lexicon
    from crossdistill.data.synth import run_in_fresh_processes

    for split in corpus_splits(plans):
        utterances = [u for p in plans if p.split == split for u in results[p.speaker]["utterances"]]
        for tier in ("words", "phones"):
            write_ctm(
                out / "alignments" / f"{split}.{tier}.ctm",
                {u["utt_id"]: [Segment(label, s, e) for label, s, e in u[tier]] for u in utterances},
            )
    atomic_write_text(out / LM_TEXT_FILE, "".join(line + "\n" for line in text.lm_train))
    atomic_write_text(out / LM_VALID_FILE, "".join(line + "\n" for line in text.lm_valid))
    parts = (text.am_train, text.am_dev, text.am_test, text.lm_train, text.lm_valid)
    vocabulary = sorted({word for part in parts for sentence in part for word in sentence.split()})
    # In a fresh process, as the synthesis: eSpeak's text-to-phoneme depends on what this process's eSpeak did
    # before (another voice, earlier text), which made the lexicon differ between runs in one test session.
    (lexicon,) = run_in_fresh_processes(phonemize, [vocabulary], jobs=1, progress=False, sizes=[0])
    write_lexicon(out / LEXICON_FILE, lexicon)
    metadata = _metadata(plans, results, text, options, len(vocabulary))
    atomic_write_text(out / METADATA_FILE, json.dumps(metadata, indent=1, sort_keys=True) + "\n")


def corpus_splits(plans: Sequence[SpeakerPlan]) -> tuple[str, ...]:
    """The splits of a planned corpus: train, dev, test and the extra test sets some speaker is in."""
    return (*SYNTHETIC_SPLITS, *(split for split in EXTRA_TEST_SPLITS if any(p.split == split for p in plans)))


def _metadata(plans, results, text, options, vocabulary_size: int) -> dict[str, Any]:
    counts, speakers = {}, {}
    for split in corpus_splits(plans):
        mine = [p for p in plans if p.split == split]
        utterances = [u for p in mine for u in results[p.speaker]["utterances"]]
        seconds = sum(u["num_samples"] for u in utterances) / SAMPLE_RATE
        read = [s for p in mine for s in p.sentences]
        counts[split] = {
            "speakers": len(mine),
            "utterances": len(utterances),
            "words": sum(len(u["words"]) for u in utterances),
            "seconds": round(seconds, 3),
            "hours": round(seconds / 3600, 4),
            "repeated_sentences": len(read) - len(set(read)),
        }
        speakers[split] = [{"speaker": p.speaker, "chapter": p.chapter, **p.config.to_dict()} for p in mine]
    extra = {}
    if "engines" in options:  # several engines: the voices each split's speakers use (``engine:voice`` but eSpeak's)
        extra["voices_per_split"] = {split: sorted({p.config.voice_id for p in plans if p.split == split})
                                     for split in corpus_splits(plans)}  # fmt: skip
    return {
        **extra,
        "options": options,
        "sample_rate": SAMPLE_RATE,
        "counts": counts,
        "speakers": speakers,
        "dropped": [d for p in plans for d in results[p.speaker]["dropped"]],
        "text": {
            "key": text.key,
            "sources": text.sources,
            "lm_sentences": len(text.lm_train),
            "lm_words": sum(len(s.split()) for s in text.lm_train),
            "lm_valid_sentences": len(text.lm_valid),
            "lexicon_words": vocabulary_size,
        },
        "versions": {"crossdistill": version("crossdistill"), "espeakng-loader": version("espeakng-loader")},
    }
