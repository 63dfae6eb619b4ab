"""The FSC-layout corpus with several synthesis engines: it builds, records its engines, skips what is missing and
utterances a voice cannot say, and keeps its tables consistent with the audio written."""

from __future__ import annotations

import csv
import json

import pytest

from crossdistill.data import engines
from crossdistill.data.alignments import load_alignments, transcription_words
from crossdistill.data.corpus import load_corpus
from crossdistill.data.engines import festival, installed_engines
from crossdistill.data.engines.base import SynthesisError
from crossdistill.data.engines.phones import CMU_TO_ESPEAK
from crossdistill.data.synth import plan_corpus, synthesize_corpus, synthesize_speaker

TINY = {"preset": "tiny", "speakers": 6, "utterances_per_speaker": 4, "seed": 0, "progress": False}
INSTALLED = [name for name in installed_engines() if name != "espeak"]
needs_another_engine = pytest.mark.skipif(
    not INSTALLED, reason="neither flite nor festival is installed (scripts/install-system-packages.sh installs them)"
)


@pytest.fixture(scope="module")
def multi_engine_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines") / "corpus"
    return synthesize_corpus(root, jobs=2, engines="all", **TINY)


def _csv_paths(root):
    paths = []
    for split in ("train", "valid", "test"):
        with open(root / "data" / f"{split}_data.csv", newline="", encoding="utf-8") as handle:
            paths += [row["path"] for row in csv.DictReader(handle)]
    return sorted(paths)


def _wav_paths(root):
    return sorted(str(p.relative_to(root)) for p in (root / "wavs").rglob("*.wav"))


@needs_another_engine
def test_a_tiny_corpus_with_several_engines_builds_and_records_them(multi_engine_corpus):
    root = multi_engine_corpus
    corpus = load_corpus(root)
    metadata = json.loads((root / "corpus.json").read_text())
    used = {s.get("engine", "espeak") for s in metadata["speakers"]}
    assert len(used) >= 2 and used <= {"espeak", *INSTALLED}
    assert set(metadata["options"]["engines"]) == {"espeak", *INSTALLED}
    per_voice = metadata["engines"]["speakers_per_voice"]
    assert sum(n for voices in per_voice.values() for n in voices.values()) == 6
    for speaker in metadata["speakers"]:
        assert speaker["voice"] in per_voice[speaker.get("engine", "espeak")]
    assert metadata["engines"]["dropped"] == [] and _csv_paths(root) == _wav_paths(root)
    # Alignments of every engine: words spell the transcription, phonemes in eSpeak's names, inside the audio.
    known = set(CMU_TO_ESPEAK.values())
    engine_of = {s["speaker_id"]: s.get("engine", "espeak") for s in metadata["speakers"]}
    entries = [
        json.loads(line) for split in corpus.splits for line in (root / "data" / f"{split}_alignments.jsonl").open()
    ]
    durations = {entry["utt_id"]: entry["duration"] for entry in entries}
    for split, utterances in corpus.splits.items():
        alignments = load_alignments(corpus, split)
        for utt in utterances:
            alignment = alignments[utt.utt_id]
            assert [w.label for w in alignment.words] == transcription_words(utt.transcription)
            assert all(0 <= p.start < p.end <= durations[utt.utt_id] for p in alignment.phonemes)
            if engine_of[utt.speaker_id] != "espeak":
                assert {p.label for p in alignment.phonemes} <= known


@needs_another_engine
def test_several_engines_give_the_same_bytes_for_any_jobs(multi_engine_corpus, tmp_path):
    again = synthesize_corpus(tmp_path / "again", jobs=1, engines="all", **TINY)
    files = {str(p.relative_to(again)): p.read_bytes() for p in sorted(again.rglob("*")) if p.is_file()}
    assert files == {str(p.relative_to(multi_engine_corpus)): p.read_bytes()
                     for p in sorted(multi_engine_corpus.rglob("*")) if p.is_file()}  # fmt: skip


def test_an_engine_that_is_not_installed_is_skipped_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(festival, "program", lambda: None)  # as on a machine without the Debian package
    festival.installed_voices.cache_clear()
    root = synthesize_corpus(
        tmp_path / "c", jobs=1, engines="espeak,festival", **{**TINY, "speakers": 3, "utterances_per_speaker": 1}
    )
    metadata = json.loads((root / "corpus.json").read_text())
    assert metadata["options"]["engines"] == {"espeak": []}
    assert "festival is not installed" in metadata["engines"]["skipped"]["festival"]
    assert {s.get("engine", "espeak") for s in metadata["speakers"]} == {"espeak"}
    load_corpus(root)


class _FailingOn:
    """The real engine, except that it cannot say one text (as a voice that fails on some input)."""

    def __init__(self, engine, text):
        self.engine, self.text, self.name = engine, text, engine.name

    def synthesize(self, text, voice, prosody):
        if text == self.text:
            raise SynthesisError("this voice cannot say that")
        return self.engine.synthesize(text, voice, prosody)


def test_an_utterance_a_voice_cannot_say_is_skipped_and_the_tables_list_exactly_the_audio(tmp_path, monkeypatch):
    import crossdistill.data.synth as synth

    real_open = engines.open_engine
    chosen = {}

    def run_in_this_process(tasks, jobs, progress):
        # The first training utterance's text fails, wherever it occurs (in this process, so the patch holds).
        chosen["text"] = tasks[0].utterances[0].phrasing.text
        return [synthesize_speaker(task) for task in tasks]

    monkeypatch.setattr(synth, "_run_tasks", run_in_this_process)
    monkeypatch.setattr(engines, "open_engine", lambda name: _FailingOn(real_open(name), chosen["text"]))
    root = synthesize_corpus(tmp_path / "c", jobs=1, **TINY)
    metadata = json.loads((root / "corpus.json").read_text())
    dropped = metadata["engines"]["dropped"]
    assert dropped and all(d["text"] == chosen["text"] or "no training utterance" in d["reason"] for d in dropped)
    assert any(d["reason"] == "this voice cannot say that" for d in dropped)
    assert _csv_paths(root) == _wav_paths(root)
    assert not {d["path"] for d in dropped} & set(_wav_paths(root))
    corpus = load_corpus(root)
    assert chosen["text"] not in {u.transcription for u in corpus.utterances()}
    for split in corpus.splits:
        assert set(load_alignments(corpus, split)) == {u.utt_id for u in corpus.splits[split]}


def test_the_unseen_engine_split_keeps_the_random_splits_speakers_and_adds_the_held_out_engines():
    voices = {"espeak": (), "flite": ("kal16", "slt")}
    plan = plan_corpus(20, 3, 0.5, 0, "unseen-engine", engine_voices=voices, held_out_engine="flite")
    random = plan_corpus(20, 3, 0.5, 0, "random")
    # The first 20 speakers are the random split's (eSpeak alone, as flite is held out), speaker for speaker.
    assert plan.split_of[:20] == random.split_of and plan.speakers[:20] == random.speakers
    assert plan.utterances[:20] == random.utterances
    extra = plan.split_of[20:]
    assert extra == ["test_unseen_engine"] * random.split_of.count("test")
    assert {s.engine for s in plan.speakers[20:]} == {"flite"} and {s.engine for s in plan.speakers[:20]} == {"espeak"}
    train_intents = {u.phrasing.intent for i, s in enumerate(plan.split_of) if s == "train" for u in plan.utterances[i]}
    assert all(u.phrasing.intent in train_intents for utterances in plan.utterances[20:] for u in utterances)
    assert plan.layout.record() == {"kind": "unseen-engine", "held_out_engine": "flite"}
