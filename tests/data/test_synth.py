"""Synthetic corpus: FSC layout, determinism, presets, speakers and option errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from crossdistill.data.corpus import load_corpus
from crossdistill.data.espeak import list_variants
from crossdistill.data.grammar import load_grammar
from crossdistill.data.speakers import _presets_data, get_preset, sample_speaker, variability_ranges
from crossdistill.data.synth import split_speakers, synthesize_corpus

TINY = {"preset": "tiny", "speakers": 6, "utterances_per_speaker": 4}


def _files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_is_exactly_fsc(tiny_corpus):
    for split in ("train", "valid", "test"):
        with open(tiny_corpus / "data" / f"{split}_data.csv", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["", "path", "speakerId", "transcription", "action", "object", "location"]
        assert [r[0] for r in rows[1:]] == [str(i) for i in range(len(rows) - 1)]
        for row in rows[1:]:
            assert row[1] == f"wavs/speakers/{row[2]}/{row[1].rsplit('/', 1)[1]}" and row[1].endswith(".wav")
            assert (tiny_corpus / row[1]).is_file()
    grammar = {p.text: p.intent for p in load_grammar().phrasings}
    for utt in load_corpus(tiny_corpus).utterances():
        assert grammar[utt.transcription] == utt.intent
    wavs = list((tiny_corpus / "wavs" / "speakers").rglob("*.wav"))
    assert len(wavs) == 24


def test_same_seed_gives_byte_identical_files_for_any_jobs(tiny_corpus, tmp_path):
    # The fixture ran with jobs=2; this runs with one worker.
    again = synthesize_corpus(tmp_path / "again", jobs=1, progress=False, seed=0, **TINY)
    assert _files(again) == _files(tiny_corpus)


def test_another_seed_gives_another_corpus(tmp_path):
    small = {"speakers": 3, "utterances_per_speaker": 1, "preset": "tiny", "progress": False}
    one = synthesize_corpus(tmp_path / "one", seed=1, **small)
    two = synthesize_corpus(tmp_path / "two", seed=2, **small)
    assert _files(one) != _files(two)
    assert json.loads((one / "corpus.json").read_text())["options"]["seed"] == 1


def test_rerun_reuses_and_other_options_refuse(tiny_corpus, tmp_path):
    before = _files(tiny_corpus)
    assert synthesize_corpus(tiny_corpus, progress=False, seed=0, **TINY) == tiny_corpus
    assert _files(tiny_corpus) == before
    with pytest.raises(ValueError, match="already holds a corpus made with other options"):
        synthesize_corpus(tiny_corpus, progress=False, seed=5, **TINY)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not empty"):
        synthesize_corpus(busy, progress=False, **TINY)
    assert (busy / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"speakers": 2}, "--speakers must be at least 3"),
        ({"utterances_per_speaker": 0}, "--utterances-per-speaker must be at least 1"),
        ({"preset": "bogus"}, "unknown preset 'bogus'"),
    ],
)
def test_bad_options(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthesize_corpus(tmp_path / "x", progress=False, **{**TINY, **kwargs})
    assert not (tmp_path / "x").exists()


def test_interrupted_synthesis_leaves_nothing(tmp_path, monkeypatch):
    import crossdistill.data.synth as synth

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(synth, "_write_tables", fail)
    with pytest.raises(KeyboardInterrupt):
        synthesize_corpus(tmp_path / "out", progress=False, speakers=3, utterances_per_speaker=1, preset="tiny")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("n", [3, 6, 10, 97, 130])
def test_split_is_speaker_disjoint_and_fsc_like(n):
    split_of = split_speakers(n, np.random.default_rng(0))
    counts = {s: split_of.count(s) for s in ("train", "valid", "test")}
    assert sum(counts.values()) == n and min(counts.values()) >= 1
    assert counts["valid"] == counts["test"]
    if n == 97:
        assert counts == {"train": 77, "valid": 10, "test": 10}


def test_difficulty_widens_every_range_monotonically():
    easy, hard = variability_ranges(0.0), variability_ranges(1.0)
    middle = variability_ranges(0.5)
    assert easy["snr_db"][0] > middle["snr_db"][0] > hard["snr_db"][0]  # harder: lower SNR
    for key in ("pitch", "rate_wpm", "vtl_warp", "eq_gain_db"):
        assert (hard[key][1] - hard[key][0]) > (middle[key][1] - middle[key][0]) > (easy[key][1] - easy[key][0])
    difficulties = [get_preset(name).difficulty for name in ("easy", "medium", "hard")]
    assert difficulties == sorted(difficulties)
    assert get_preset("default").difficulty == get_preset("hard").difficulty


def test_full_size_presets_match_fsc():
    for name in ("easy", "medium", "hard"):
        preset = get_preset(name)
        assert preset.speakers >= 90
        assert 28_000 <= preset.speakers * preset.utterances_per_speaker <= 32_000


def test_speakers_use_shipped_english_voices_and_variants():
    data = _presets_data()
    assert set(data["variants"]) <= set(list_variants())
    assert all(v == "en" or v.startswith("en-") for v in data["voices"])
    speakers = [sample_speaker(np.random.default_rng(i), f"s{i}", 0.5) for i in range(30)]
    assert len({s.voice for s in speakers}) > 20
    ranges = variability_ranges(0.5)
    for s in speakers:
        assert ranges["snr_db"][0] <= s.snr_db <= ranges["snr_db"][1]
        assert ranges["vtl_warp"][0] - 1e-4 <= s.vtl_warp <= ranges["vtl_warp"][1] + 1e-4


def test_metadata_records_options_speakers_and_splits(tiny_corpus):
    meta = json.loads((tiny_corpus / "corpus.json").read_text())
    assert meta["options"] == {"difficulty": 0.5, "seed": 0, **TINY}
    assert meta["sample_rate"] == 16000
    corpus = load_corpus(tiny_corpus)
    for split, speakers in meta["splits"].items():
        assert sorted({u.speaker_id for u in corpus.splits[split]}) == sorted(speakers)
    assert len(meta["speakers"]) == 6


@pytest.mark.parametrize(("jobs", "expected"), [(1, 1), (3, 3), (0, None), (-1, None)])
def test_jobs_option_reaches_the_pool(tmp_path, monkeypatch, jobs, expected):
    import os

    import crossdistill.data.synth as synth

    seen = []

    def record(tasks, jobs, progress):
        seen.append(jobs)
        raise KeyboardInterrupt  # stop before any synthesis

    monkeypatch.setattr(synth, "_run_tasks", record)
    with pytest.raises(KeyboardInterrupt):
        synthesize_corpus(tmp_path / "x", jobs=jobs, progress=False, **TINY)
    assert seen == [expected or os.cpu_count()]
