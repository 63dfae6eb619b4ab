"""The built-in synthetic SLU corpus: synthetic speech of our command grammar, in the FSC layout.

The voices are eSpeak NG's by default, or those of several engines (``engines``: eSpeak NG, flite, festival; see
``crossdistill.data.engines``).

``synthesize_corpus`` plans everything in the parent from the seed (speakers, splits, who says what),
then synthesizes one speaker per task in fresh worker processes: eSpeak NG keeps state from one
utterance to the next that no API call resets, so a fresh process per speaker is what makes the output
byte-identical for any ``jobs``. The corpus is written into a temporary sibling folder and renamed into
place at the end, so an interrupted run never leaves a half corpus that looks complete.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from tqdm import tqdm

from crossdistill.common.progress import show_progress
from crossdistill.data.alignments import phoneme_inventory_path
from crossdistill.data.audio import SAMPLE_RATE
from crossdistill.data.corpus import (
    EXTRA_TEST_SPLITS,
    METADATA_FILE,
    SPLITS,
    UNSEEN_ENGINE_TEST,
    LabelSet,
    alignment_path,
    split_csv_path,
)
from crossdistill.data.effects import Channel, Rendered, build_channel, render
from crossdistill.data.engines import ENGINE_NAMES, EngineSelection, expected_rate, parse_engines, resolve_engines
from crossdistill.data.engines.base import Engine, Prosody, SynthesisError
from crossdistill.data.grammar import Phrasing, load_grammar
from crossdistill.data.label_noise import (
    LABEL_NOISE_FILE,
    NoisyRow,
    check_label_noise,
    choose_label_noise,
    write_label_noise,
)
from crossdistill.data.speakers import SpeakerConfig, draw_speaker, engine_timbres, get_preset
from crossdistill.data.splits import (
    DEFAULT_SPLIT,
    UNSEEN_ENGINE,
    Partition,
    SplitLayout,
    check_split_kind,
    layout_split,
)

log = logging.getLogger(__name__)

FORMAT_NAME = "crossdistill-synthetic-fsc"
FORMAT_VERSION = 1
CSV_HEADER = ("", "path", "speakerId", "transcription", "action", "object", "location")
HELD_OUT_FRACTION = 10 / 97  # FSC: 77 / 10 / 10 speakers
TIME_DECIMALS = 4

# Independent random streams, so that changing one plan never shifts another.
_STREAM_SPEAKERS, _STREAM_SPLIT, _STREAM_PLAN, _STREAM_UTTERANCE, _STREAM_CHANNEL, _STREAM_LABEL_NOISE = range(1, 7)
_STREAM_SPLIT_LAYOUT = 7  # the challenge splits' partitions of phrasings or voices (crossdistill.data.splits)
_STREAM_ENGINE = 8  # each speaker's engine, when there are several


@dataclass(frozen=True)
class UtterancePlan:
    """What one utterance will be: its file name (no extension) and phrasing."""

    name: str
    phrasing: Phrasing


@dataclass(frozen=True)
class SpeakerTask:
    """Everything a worker needs to synthesize one speaker."""

    speaker: SpeakerConfig
    speaker_index: int
    utterances: tuple[UtterancePlan, ...]
    seed: int
    out_root: str


@dataclass(frozen=True)
class SynthesizedUtterance:
    """A written utterance: its CSV path, duration and alignment (seconds in the written file)."""

    path: str
    phrasing: Phrasing
    duration: float
    words: list[tuple[str, float, float]]
    phonemes: list[tuple[str, float, float]]


@dataclass(frozen=True)
class SpeakerResult:
    """A speaker's written utterances, and those it could not say (``path``, ``voice``, ``text``, ``reason``)."""

    utterances: list[SynthesizedUtterance]
    dropped: list[dict[str, str]]


def synthesize_corpus(
    out_dir: str | os.PathLike,
    preset: str = "default",
    speakers: int | None = None,
    utterances_per_speaker: int | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = True,
    valid_speakers: int | None = None,
    test_speakers: int | None = None,
    label_noise: float | None = None,
    split: str = DEFAULT_SPLIT,
    engines: str | Sequence[str] | None = None,
    held_out_engine: str | None = None,
) -> Path:
    """Synthesize a corpus in the FSC layout into ``out_dir`` and return its path.

    Args:
      out_dir: where to write; must not exist or be empty. If it holds a corpus made with the same
        options it is returned as is.
      preset: a name from ``presets.yaml`` (difficulty and default size).
      speakers, utterances_per_speaker: override the preset's size (at least 3 speakers: one per split).
      seed: every random choice derives from it; same options and seed give byte-identical files.
      jobs: worker processes (0 or less: all cores).
      progress: show a tqdm progress bar.
      valid_speakers, test_speakers: held-out speakers per split (default: the preset's, else FSC's share).
      label_noise: share of training utterances given a wrong intent, in [0, 1) (default: the preset's);
        see ``crossdistill.data.label_noise``. The audio does not depend on it.
      split: ``random`` (speaker-disjoint), ``unseen-utterance``, ``unseen-speaker`` or ``unseen-engine``; see
        ``crossdistill.data.splits``. Recorded in ``corpus.json`` (options and the partition under ``split``).
      engines: the synthesis engines, ``espeak,flite,festival``-style or ``all`` (default: eSpeak NG alone, the
        corpus made before engines existed); an engine or voice not installed is skipped with a logged note, and
        ``corpus.json`` records the engines and voices used and what was skipped. An utterance a voice cannot
        say is skipped (logged, listed under ``dropped`` in ``corpus.json``); the CSVs list exactly the audio
        written.
      held_out_engine: with ``split="unseen-engine"``, the engine (one of ``engines``, installed, and not the only
        one) whose speakers form the second test set ``test_unseen_engine``; train, valid and test never use it.
    """
    chosen = get_preset(preset)
    n_speakers = chosen.speakers if speakers is None else int(speakers)
    per_speaker = chosen.utterances_per_speaker if utterances_per_speaker is None else int(utterances_per_speaker)
    if n_speakers < 3:
        raise ValueError(f"--speakers must be at least 3 (one per split), got {n_speakers}")
    if per_speaker < 1:
        raise ValueError(f"--utterances-per-speaker must be at least 1, got {per_speaker}")
    jobs = (os.cpu_count() or 1) if jobs <= 0 else int(jobs)
    check_split_kind(split)
    valid_speakers = chosen.valid_speakers if valid_speakers is None else int(valid_speakers)
    test_speakers = chosen.test_speakers if test_speakers is None else int(test_speakers)
    noise = check_label_noise(chosen.label_noise if label_noise is None else label_noise)
    selection = resolve_engines(parse_engines(engines))
    check_held_out_engine(split, held_out_engine, selection)
    options = {
        "preset": chosen.name,
        "difficulty": chosen.difficulty,
        "speakers": n_speakers,
        "utterances_per_speaker": per_speaker,
        "seed": int(seed),
    }
    # Recorded only when used, so that corpora made before these options existed keep matching their options.
    extra = {"valid_speakers": valid_speakers, "test_speakers": test_speakers, "label_noise": noise or None}
    options.update({key: value for key, value in extra.items() if value is not None})
    if split != DEFAULT_SPLIT:
        options["split"] = split
    if held_out_engine is not None:
        options["held_out_engine"] = held_out_engine
    options.update(selection.options())
    out_dir = Path(out_dir).absolute()
    if _existing_corpus_matches(out_dir, options):
        return out_dir

    plan = plan_corpus(
        n_speakers, per_speaker, chosen.difficulty, seed, split, valid_speakers, test_speakers, selection.voices,
        held_out_engine,
    )  # fmt: skip
    configs, split_of, plans, layout = plan.speakers, plan.split_of, plan.utterances, plan.layout

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        tasks = [SpeakerTask(configs[i], i, tuple(plans[i]), int(seed), str(staging)) for i in range(len(configs))]
        results, dropped = _keep_consistent(staging, split_of, _run_tasks(tasks, jobs, progress))
        # Chosen among the utterances written (the same as among those planned when none was dropped).
        train_intents = [u.phrasing.intent for i, s in enumerate(split_of) if s == "train" for u in results[i]]
        wrong_intents = choose_label_noise(train_intents, noise, np.random.default_rng([seed, _STREAM_LABEL_NOISE]))
        engine_record = None if selection.is_default and not dropped else _engine_record(selection, configs, dropped)
        _write_tables(staging, split_of, configs, results, options, wrong_intents, layout.record(), engine_record)
        _publish(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out_dir


@dataclass(frozen=True)
class CorpusPlan:
    """Everything ``synthesize_corpus`` decides before any audio: who speaks in which split, with which voice, and
    says what.

    Fields:
      speakers: each speaker's voice configuration (index i is ``spk{i:03d}``).
      split_of: each speaker's split.
      utterances: each speaker's utterances (file name and phrasing), in order.
      layout: what the split kind changed (``crossdistill.data.splits``); its record goes to ``corpus.json``.
    """

    speakers: list[SpeakerConfig]
    split_of: list[str]
    utterances: list[list[UtterancePlan]]
    layout: SplitLayout


def plan_corpus(
    n_speakers: int,
    per_speaker: int,
    difficulty: float,
    seed: int,
    split: str = DEFAULT_SPLIT,
    valid_speakers: int | None = None,
    test_speakers: int | None = None,
    engine_voices: dict[str, Sequence[str]] | None = None,
    held_out_engine: str | None = None,
) -> CorpusPlan:
    """Plan a corpus from the seed alone (each decision from its own random stream), without synthesizing it.

    ``engine_voices``: the usable engines and their voices (``EngineSelection.voices``; default eSpeak alone).
    ``held_out_engine`` (the unseen-engine split): the random split's speakers use the other engines, and as many
    speakers as test has are added (the next indices), of this engine, in the split ``test_unseen_engine``.
    """
    grammar = load_grammar()
    engine_voices = {"espeak": ()} if engine_voices is None else engine_voices
    split_of = split_speakers(n_speakers, np.random.default_rng([seed, _STREAM_SPLIT]), valid_speakers, test_speakers)
    layout_rng = np.random.default_rng([seed, _STREAM_SPLIT_LAYOUT])
    seen = {engine: voices for engine, voices in engine_voices.items() if engine != held_out_engine}
    layout = layout_split(split, split_of, grammar.phrasings, engine_timbres(seen), layout_rng, held_out_engine)
    if held_out_engine is not None:
        split_of = split_of + [UNSEEN_ENGINE_TEST] * split_of.count("test")
    configs = [
        draw_speaker(
            np.random.default_rng([seed, _STREAM_ENGINE, i]),
            np.random.default_rng([seed, _STREAM_SPEAKERS, i]),
            f"spk{i:03d}",
            difficulty,
            {held_out_engine: engine_voices[held_out_engine]} if s == UNSEEN_ENGINE_TEST else seen,
            layout.variants_of(s),
        )
        for i, s in enumerate(split_of)
    ]
    plans = plan_utterances(
        split_of, per_speaker, grammar.phrasings, np.random.default_rng([seed, _STREAM_PLAN]), layout.phrasings
    )
    return CorpusPlan(configs, split_of, plans, layout)


def split_speakers(
    n_speakers: int, rng: np.random.Generator, valid_speakers: int | None = None, test_speakers: int | None = None
) -> list[str]:
    """Assign each speaker index a split, speaker-disjoint: ``valid_speakers`` and ``test_speakers`` held out (each
    None: FSC's share, 77/10/10 of 97), the rest train."""
    held_out = max(1, round(n_speakers * HELD_OUT_FRACTION))
    n_valid = held_out if valid_speakers is None else valid_speakers
    n_test = held_out if test_speakers is None else test_speakers
    if n_valid < 1 or n_test < 1 or n_valid + n_test >= n_speakers:
        raise ValueError(
            f"--valid-speakers {n_valid} and --test-speakers {n_test} must each be at least 1 and leave a training "
            f"speaker among the {n_speakers}"
        )
    order = rng.permutation(n_speakers)
    split_of = ["train"] * n_speakers
    for rank, index in enumerate(order):
        if rank < n_valid:
            split_of[index] = "valid"
        elif rank < n_valid + n_test:
            split_of[index] = "test"
    return split_of


def plan_utterances(
    split_of: list[str],
    per_speaker: int,
    phrasings: tuple[Phrasing, ...],
    rng: np.random.Generator,
    partition: Partition[Phrasing] | None = None,
) -> list[list[UtterancePlan]]:
    """Choose each speaker's phrasings, cycling through shuffled passes so coverage stays even.

    Training speakers are planned first; held-out speakers only use intents that training has, so the
    reader's "label unseen in training" check holds even for a tiny corpus. With ``partition`` (the
    unseen-utterance split) each split's speakers say only that split's phrasings.
    """
    plans: list[list[UtterancePlan]] = [[] for _ in split_of]

    def cycle(pool: list[Phrasing]):
        while True:
            for index in rng.permutation(len(pool)):
                yield pool[index]

    def assign(indices: list[int], source) -> None:
        for index in indices:
            plans[index] = [UtterancePlan(f"spk{index:03d}_{k:04d}", next(source)) for k in range(per_speaker)]

    train = [i for i, split in enumerate(split_of) if split == "train"]
    assign(train, cycle(list(phrasings if partition is None else partition.train)))
    train_intents = {u.phrasing.intent for i in train for u in plans[i]}
    if partition is None:
        held_out = [i for i, split in enumerate(split_of) if split != "train"]
        assign(held_out, cycle([p for p in phrasings if p.intent in train_intents]))
        return plans
    for held_out_split in ("valid", "test"):
        speakers = [i for i, split in enumerate(split_of) if split == held_out_split]
        pool = [p for p in partition.of(held_out_split) if p.intent in train_intents]
        if speakers and not pool:
            raise ValueError(
                f"unseen-utterance: no {held_out_split} phrasing has an intent that the training speakers say "
                f"({len(train_intents)} intents); give them more --utterances-per-speaker"
            )
        assign(speakers, cycle(pool))
    return plans


@dataclass(frozen=True)
class SpokenUtterance:
    """One rendered utterance and its alignment in samples of the engine's output (before rendering).

    ``seconds(sample)`` maps such a sample to its time in ``rendered.pcm``. Phone labels are in the engine's phone
    set ``phone_set`` (``crossdistill.data.engines.phones`` maps them).
    """

    rendered: Rendered
    words: list[tuple[str, int, int]]
    phonemes: list[tuple[str, int, int]]
    phone_set: str = "espeak"

    def seconds(self, sample: int) -> float:
        """Time in the rendered recording of engine output sample ``sample``."""
        return self.rendered.offset_s + sample * self.rendered.seconds_per_source_sample


def speak_utterance(
    engine: Engine, speaker: SpeakerConfig, channel: Channel, rng: np.random.Generator, text: str
) -> SpokenUtterance:
    """Say ``text`` as ``speaker`` (with this utterance's rate and pitch jitter) and record it through ``channel``.

    Every random draw comes from ``rng``, in a fixed order, so the same generator state gives the same audio
    (given eSpeak's own state: see ``crossdistill.data.espeak``). Raises ``SynthesisError`` when the voice cannot
    say ``text``; audio at another rate than the voice's known one is resampled all the same, with a note.
    """
    rate_jitter, pitch_jitter = rng.uniform(-speaker.jitter, speaker.jitter, size=2)
    prosody = Prosody(
        rate_wpm=int(np.clip(round(speaker.rate * (1 + rate_jitter)), 80, 450)),
        pitch=int(np.clip(round(speaker.pitch * (1 + pitch_jitter)), 0, 100)),
        pitch_range=speaker.pitch_range,
        word_gap=speaker.word_gap,
        seed=int(rng.integers(1 << 31)),
    )
    synthesis = engine.synthesize(text, speaker.voice, prosody)
    if synthesis.audio.size == 0:
        raise SynthesisError(f"{speaker.engine} voice {speaker.voice!r} returned empty audio")
    known = expected_rate(speaker.engine, speaker.voice.split("+")[0])
    if known is not None and synthesis.sample_rate != known:
        log.warning("%s voice %r gave %d Hz audio (expected %d Hz); resampled to %d Hz", speaker.engine,
                    speaker.voice, synthesis.sample_rate, known, SAMPLE_RATE)  # fmt: skip
    rendered = render(synthesis.audio, synthesis.sample_rate, speaker, channel, rng, SAMPLE_RATE)
    return SpokenUtterance(rendered, list(synthesis.words), list(synthesis.phones), synthesis.phone_set)


def synthesize_speaker(task: SpeakerTask) -> SpeakerResult:
    """Synthesize and write one speaker's utterances (run it in a fresh process for reproducibility).

    An utterance the voice cannot say is logged and left out (no file written), with its reason.
    """
    from crossdistill.data.engines import open_engine
    from crossdistill.data.engines.phones import to_espeak_names

    speaker = task.speaker
    engine = open_engine(speaker.engine)
    channel_rng = np.random.default_rng([task.seed, _STREAM_CHANNEL, task.speaker_index])
    channel = build_channel(speaker, channel_rng, SAMPLE_RATE)
    folder = Path(task.out_root) / "wavs" / "speakers" / speaker.speaker_id
    folder.mkdir(parents=True, exist_ok=True)
    results, dropped = [], []
    for k, plan in enumerate(task.utterances):
        rng = np.random.default_rng([task.seed, _STREAM_UTTERANCE, task.speaker_index, k])
        rel_path = f"wavs/speakers/{speaker.speaker_id}/{plan.name}.wav"
        try:
            spoken = speak_utterance(engine, speaker, channel, rng, plan.phrasing.text)
            labels = to_espeak_names(spoken.phone_set, [label for label, _, _ in spoken.phonemes])
        except (SynthesisError, ValueError) as error:
            log.warning("skipped %s (%s): %s", rel_path, speaker.voice_id, error)
            dropped.append({"path": rel_path, "voice": speaker.voice_id, "text": plan.phrasing.text,
                            "reason": str(error)})  # fmt: skip
            continue
        phonemes = [(label, s, e) for label, (_, s, e) in zip(labels, spoken.phonemes, strict=True)]
        _write_wav(Path(task.out_root) / rel_path, spoken.rendered.pcm)
        duration = spoken.rendered.pcm.shape[0] / SAMPLE_RATE

        def to_seconds(segments, spoken=spoken, duration=duration):
            return [
                (
                    label,
                    round(min(spoken.seconds(s), duration), TIME_DECIMALS),
                    round(min(spoken.seconds(e), duration), TIME_DECIMALS),
                )
                for label, s, e in segments
            ]

        results.append(
            SynthesizedUtterance(rel_path, plan.phrasing, duration, to_seconds(spoken.words), to_seconds(phonemes))
        )
    return SpeakerResult(results, dropped)


def _write_wav(path: Path, pcm: np.ndarray) -> None:
    buffer = io.BytesIO()
    soundfile.write(buffer, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    path.write_bytes(buffer.getvalue())


def _run_tasks(tasks: list[SpeakerTask], jobs: int, progress: bool) -> list[SpeakerResult]:
    sizes = [len(t.utterances) for t in tasks]
    preload = ["crossdistill.data.synth", "crossdistill.data.effects", "crossdistill.data.espeak"]
    return list(run_in_fresh_processes(synthesize_speaker, tasks, jobs, progress, sizes, preload))


def _keep_consistent(
    root: Path, split_of: list[str], results: list[SpeakerResult]
) -> tuple[list[list[SynthesizedUtterance]], list[dict[str, str]]]:
    """Each speaker's written utterances, after dropping held-out ones whose intent no longer occurs in training
    (their training utterances were dropped; the reader refuses such labels), and every dropped utterance.

    Raises ``ValueError`` (with the reasons) when a split is left with no utterance.
    """
    dropped = [d for r in results for d in r.dropped]
    kept = [list(r.utterances) for r in results]
    train_intents = {u.phrasing.intent for i, s in enumerate(split_of) if s == "train" for u in kept[i]}
    for i, split in enumerate(split_of):
        if split == "train":
            continue
        for utt in [u for u in kept[i] if u.phrasing.intent not in train_intents]:
            (root / utt.path).unlink()
            kept[i].remove(utt)
            dropped.append({"path": utt.path, "voice": "", "text": utt.phrasing.text,
                            "reason": "its intent has no training utterance left"})  # fmt: skip
    for split in _splits_of(split_of):
        if not any(kept[i] for i, s in enumerate(split_of) if s == split):
            reasons = "; ".join(sorted({d["reason"] for d in dropped}))
            raise ValueError(f"no {split} utterance could be synthesized ({reasons})")
    return kept, dropped


def _engine_record(
    selection: EngineSelection, configs: list[SpeakerConfig], dropped: list[dict[str, str]]
) -> dict[str, Any]:
    """What ``corpus.json`` says about engines: per engine the voices its speakers use, what was skipped, and the
    utterances left out (each with its reason)."""
    used: dict[str, dict[str, int]] = {}
    for config in configs:
        voices = used.setdefault(config.engine, {})
        voices[config.voice] = voices.get(config.voice, 0) + 1
    return {
        "requested": list(selection.requested),
        "speakers_per_voice": {engine: dict(sorted(voices.items())) for engine, voices in used.items()},
        "skipped": selection.skipped,
        "dropped": dropped,
    }


def run_in_fresh_processes(
    worker: Callable[[Any], Any],
    tasks: Sequence[Any],
    jobs: int,
    progress: bool,
    sizes: Sequence[int],
    preload: Sequence[str] = (),
) -> Iterator[Any]:
    """Yield ``worker(task)`` for each task, in order, each task in a fresh worker process.

    eSpeak NG keeps state across utterances that no call resets, so a fresh process per speaker is what
    makes output independent of ``jobs`` and of which speakers were done before. ``sizes`` (utterances per
    task) drive the progress bar.
    """
    # "forkserver" forks workers from a clean server process, never from a parent that may already have
    # used eSpeak; maxtasksperchild=1 gives every speaker a fresh library state.
    context = multiprocessing.get_context("forkserver")
    # Import the heavy modules once in the server (this only takes effect if it is not running yet).
    context.set_forkserver_preload(list(preload))
    if not tasks:
        return
    with (
        context.Pool(min(jobs, len(tasks)), maxtasksperchild=1) as pool,
        tqdm(total=sum(sizes), unit="utt", desc="synthesizing", disable=not show_progress(progress)) as bar,
    ):
        for size, result in zip(sizes, pool.imap(worker, tasks, chunksize=1), strict=True):
            bar.update(size)
            yield result


def _write_tables(
    root: Path,
    split_of: list[str],
    configs: list[SpeakerConfig],
    results: list[list[SynthesizedUtterance]],
    options: dict[str, Any],
    wrong_intents: dict[int, tuple[str, str, str]] | None = None,
    split_record: dict[str, Any] | None = None,
    engine_record: dict[str, Any] | None = None,
) -> None:
    (root / "data").mkdir(parents=True, exist_ok=True)
    observed_phonemes: set[str] = set()
    train_rows = []
    for split in _splits_of(split_of):
        rows, alignment_lines = [], []
        for index, utterances in enumerate(results):
            if split_of[index] != split:
                continue
            for utt in utterances:
                rows.append((utt.path, configs[index].speaker_id, utt.phrasing))
                entry = {
                    "utt_id": utt.path.rsplit(".", 1)[0],
                    "duration": round(utt.duration, TIME_DECIMALS),
                    "words": utt.words,
                    "phonemes": utt.phonemes,
                }
                alignment_lines.append(json.dumps(entry, separators=(",", ":")))
                observed_phonemes.update(label for label, _, _ in utt.phonemes)
        if split == "train" and wrong_intents:
            rows = _relabel(root, rows, wrong_intents)
        _write_csv(split_csv_path(root, split), rows)
        alignment_path(root, split).write_text("".join(line + "\n" for line in alignment_lines), encoding="utf-8")
        if split == "train":
            train_rows = rows
    labels = LabelSet(
        actions=tuple(sorted({p.intent[0] for _, _, p in train_rows})),
        objects=tuple(sorted({p.intent[1] for _, _, p in train_rows})),
        locations=tuple(sorted({p.intent[2] for _, _, p in train_rows})),
        intents=tuple(sorted({p.intent for _, _, p in train_rows})),
    )
    inventory = {
        "notation": "eSpeak NG ASCII phoneme names, stress marks removed",
        "phonemes": sorted(observed_phonemes),
    }
    phoneme_inventory_path(root).write_text(json.dumps(inventory, indent=1) + "\n", encoding="utf-8")
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "options": options,
        "sample_rate": SAMPLE_RATE,
        "labels": labels.to_dict(),
        "splits": {
            s: [c.speaker_id for c, sp in zip(configs, split_of, strict=True) if sp == s] for s in _splits_of(split_of)
        },
        "speakers": [c.to_dict() for c in configs],
        "audio_seconds": round(sum(u.duration for r in results for u in r), 3),
    }
    if wrong_intents:
        metadata["label_noise"] = {"rate": options["label_noise"], "train_rows": len(wrong_intents),
                                   "file": f"data/{LABEL_NOISE_FILE}"}  # fmt: skip
    if split_record:
        metadata["split"] = split_record
    if engine_record:
        metadata["engines"] = engine_record
    (root / METADATA_FILE).write_text(json.dumps(metadata, indent=1) + "\n", encoding="utf-8")


def _splits_of(split_of: list[str]) -> tuple[str, ...]:
    """The corpus's splits: train, valid, test, and the extra test sets that some speaker is in."""
    return (*SPLITS, *(split for split in EXTRA_TEST_SPLITS if split in split_of))


def check_held_out_engine(split: str, held_out_engine: str | None, selection: EngineSelection) -> None:
    """Refuse, before any work, an unseen-engine split without a usable held-out engine and another one to train on."""
    if split != UNSEEN_ENGINE:
        if held_out_engine is not None:
            raise ValueError(f"--held-out-engine {held_out_engine!r} goes with --split {UNSEEN_ENGINE}")
        return
    if held_out_engine is None:
        raise ValueError(f"--split {UNSEEN_ENGINE} needs --held-out-engine (one of --engines)")
    if held_out_engine not in ENGINE_NAMES:
        raise ValueError(f"--held-out-engine {held_out_engine!r} is unknown; choose one of {', '.join(ENGINE_NAMES)}")
    if held_out_engine not in selection.requested:
        raise ValueError(
            f"--held-out-engine {held_out_engine!r} is not one of --engines {','.join(selection.requested)}"
        )
    if held_out_engine not in selection.engines:
        raise ValueError(
            f"--held-out-engine {held_out_engine!r} is not installed: {selection.skipped[held_out_engine]}"
        )
    if len(selection.engines) < 2:
        raise ValueError(f"--split {UNSEEN_ENGINE} needs another engine to train on besides {held_out_engine!r}")


def _relabel(
    root: Path, rows: list[tuple[str, str, Phrasing]], wrong_intents: dict[int, tuple[str, str, str]]
) -> list[tuple[str, str, Phrasing]]:
    """The training rows with their wrong intents (the transcript stays); records them in the label-noise file."""
    noisy = list(rows)
    for index, intent in wrong_intents.items():
        path, speaker_id, phrasing = rows[index]
        noisy[index] = (path, speaker_id, Phrasing(phrasing.text, intent))
    write_label_noise(root, [NoisyRow(rows[i][0], rows[i][2].intent, intent) for i, intent in wrong_intents.items()])
    return noisy


def _write_csv(path: Path, rows: list[tuple[str, str, Phrasing]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for index, (rel_path, speaker_id, phrasing) in enumerate(rows):
            writer.writerow((index, rel_path, speaker_id, phrasing.text, *phrasing.intent))


def _existing_corpus_matches(out_dir: Path, options: dict[str, Any]) -> bool:
    if not out_dir.exists():
        return False
    if not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} exists and is not a directory")
    metadata_path = out_dir / METADATA_FILE
    if metadata_path.is_file():
        try:
            metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            metadata = {}
        if metadata.get("format") == FORMAT_NAME and metadata.get("options") == options:
            return True
        raise ValueError(
            f"--out {out_dir} already holds a corpus made with other options ({metadata.get('options')}); "
            "choose another folder or remove it"
        )
    if any(out_dir.iterdir()):
        raise ValueError(f"--out {out_dir} is not empty; choose another folder or remove it")
    return False


def _publish(staging: Path, out_dir: Path) -> None:
    if out_dir.exists():
        out_dir.rmdir()  # empty (checked before synthesis); rename cannot replace a non-empty folder
    os.replace(staging, out_dir)
