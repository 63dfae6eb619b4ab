"""Paper 001's synthetic corpus: exact layout, alignments that tile the audio, lexicon coverage, disjoint speakers,
determinism and resuming after a kill."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from crossdistill.data.asr import synth as synth_module
from crossdistill.data.asr.ctm import read_ctm
from crossdistill.data.asr.lexicon import read_lexicon
from crossdistill.data.asr.librispeech import UNFINISHED_MARKER, load_asr_corpus
from crossdistill.data.asr.phones import ESPEAK_TO_ARPABET, PHONES, SILENCE
from crossdistill.data.asr.synth import (
    AsrPreset,
    UnalignableError,
    alignment_in_ms,
    get_preset,
    plan_speakers,
    synthesize_asr_corpus,
)
from crossdistill.data.asr.text import SplitFractions


def _files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_is_the_contract(asr_tiny_corpus):
    root = asr_tiny_corpus
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    audio = re.compile(r"(train|dev|test)/(\d+)/(\d+)/\2-\3-\d{4}\.flac")
    trans = re.compile(r"(train|dev|test)/(\d+)/(\d+)/\2-\3\.trans\.txt")
    side = {"corpus.json", "lexicon.txt", "lm/text.txt", "lm/valid.txt"} | {
        f"alignments/{split}.{tier}.ctm" for split in ("train", "dev", "test") for tier in ("words", "phones")
    }
    assert set(files) - {f for f in files if audio.fullmatch(f) or trans.fullmatch(f)} == side
    metadata = json.loads((root / "corpus.json").read_text())
    assert metadata["dropped"] == []  # every utterance's phonemes map and its words align
    preset = get_preset("tiny")
    assert sum(1 for f in files if audio.fullmatch(f)) == sum(preset.speakers.values()) * preset.utterances_per_speaker
    for path in root.rglob("*.flac"):
        info = soundfile.info(path)
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "FLAC")
    corpus = load_asr_corpus(root, progress=False)
    assert list(corpus.splits) == ["train", "dev", "test"]
    assert set(corpus.alignments) == {"train", "dev", "test"}
    counts = metadata["counts"]
    for split, utterances in corpus.splits.items():
        assert counts[split]["utterances"] == len(utterances)
        assert counts[split]["seconds"] == pytest.approx(sum(u.duration for u in utterances), abs=1e-3)


def test_alignments_tile_the_audio_and_spell_the_transcripts(asr_tiny_corpus):
    corpus = load_asr_corpus(asr_tiny_corpus, progress=False)
    for split, utterances in corpus.splits.items():
        words = read_ctm(asr_tiny_corpus / "alignments" / f"{split}.words.ctm")
        phones = read_ctm(asr_tiny_corpus / "alignments" / f"{split}.phones.ctm")
        assert set(words) == set(phones) == {u.utt_id for u in utterances}
        for u in utterances:
            assert u.num_samples % 16 == 0  # whole milliseconds
            assert tuple(w.label for w in words[u.utt_id]) == u.words
            segments = phones[u.utt_id]
            assert segments[0].start == 0 and segments[-1].end == u.num_samples / 16000
            assert all(a.end == b.start and b.end > b.start for a, b in itertools.pairwise(segments))
            assert {s.label for s in segments} <= set(PHONES) - {"SPN"}
            assert sum(s.label != SILENCE for s in segments) >= len(u.words)
            # Every word lies on phone boundaries.
            bounds = {s.start for s in segments} | {segments[-1].end}
            assert all(w.start in bounds and w.end in bounds for w in words[u.utt_id])


def test_lexicon_covers_every_word_of_every_split_and_of_the_lm_text(asr_tiny_corpus):
    lexicon = read_lexicon(asr_tiny_corpus / "lexicon.txt")
    texts = [asr_tiny_corpus / "lm" / "text.txt", asr_tiny_corpus / "lm" / "valid.txt"]
    texts += list(asr_tiny_corpus.rglob("*.trans.txt"))
    for path in texts:
        for line in path.read_text().splitlines():
            tokens = line.split()[1:] if path.name.endswith(".trans.txt") else line.split()
            assert all(token in lexicon for token in tokens), path
    lm_lines = (asr_tiny_corpus / "lm" / "text.txt").read_text().splitlines()
    transcripts = {
        " ".join(line.split()[1:]) for p in asr_tiny_corpus.rglob("*.trans.txt") for line in p.read_text().splitlines()
    }
    held_out = {
        " ".join(line.split()[1:])
        for split in ("dev", "test")
        for p in (asr_tiny_corpus / split).rglob("*.trans.txt")
        for line in p.read_text().splitlines()
    }
    assert transcripts and not held_out & set(lm_lines)  # no dev/test sentence in the LM text


def test_speakers_are_disjoint_across_splits_by_id_and_voice(asr_tiny_corpus):
    metadata = json.loads((asr_tiny_corpus / "corpus.json").read_text())
    owners = {}
    for split, speakers in metadata["speakers"].items():
        for entry in speakers:
            assert owners.setdefault(("id", entry["speaker"]), split) == split
            assert owners.setdefault(("voice", entry["voice"]), split) == split
            assert (asr_tiny_corpus / split / str(entry["speaker"]) / str(entry["chapter"])).is_dir()


@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.fixed_dictionaries({s: st.integers(1, 25) for s in ("train", "dev", "test")}),
    st.integers(1, 6),
)
def test_planned_speakers_are_disjoint_and_read_their_own_split(seed, speakers, per_speaker):
    preset = AsrPreset("x", 1.0, "sample", speakers, per_speaker)
    sentences = {split: [f"{split.upper()} SENTENCE {i}" for i in range(7)] for split in speakers}
    plans = plan_speakers(preset, seed, sentences)
    assert [p.split for p in plans].count("dev") == speakers["dev"]
    assert len({p.speaker for p in plans}) == len({p.chapter for p in plans}) == len(plans)
    voice_owner = {}
    for plan in plans:
        assert voice_owner.setdefault(plan.config.voice, plan.split) == plan.split
        assert len(plan.sentences) == per_speaker
        assert all(s.startswith(plan.split.upper()) for s in plan.sentences)
    assert plan_speakers(preset, seed, sentences) == plans


@dataclass
class FakeSpoken:
    """What ``alignment_in_ms`` reads of a ``SpokenUtterance``."""

    words: list
    phonemes: list
    offset_s: float
    scale: float
    phone_set: str = "espeak"

    def seconds(self, sample: int) -> float:
        return self.offset_s + sample * self.scale


_NAMES = sorted(name for name, phones in ESPEAK_TO_ARPABET.items() if phones != ("R",))  # keep the r rule out


@st.composite
def spoken_utterances(draw):
    """Words of 1-4 phonemes at 22.05 kHz sample positions, with pauses (gaps) between some of them."""
    n_words = draw(st.integers(1, 6))
    cursor, words, phonemes = draw(st.integers(0, 3000)), [], []
    for w in range(n_words):
        cursor += draw(st.sampled_from([0, 0, 400, 2000]))  # a pause before the word, sometimes
        start = cursor
        for _ in range(draw(st.integers(1, 4))):
            end = cursor + draw(st.integers(200, 3000))  # >= 7 ms: every phone of a phoneme keeps >= 2 ms
            phonemes.append((draw(st.sampled_from(_NAMES)), cursor, end))
            cursor = end
        words.append((f"w{w}", start, cursor))
    offset = draw(st.floats(0.05, 0.35))
    spoken = FakeSpoken(words, phonemes, offset, 1 / (22050 * draw(st.floats(0.86, 1.16))))
    duration_ms = round(spoken.seconds(cursor) * 1000) + draw(st.integers(0, 400))
    return spoken, " ".join(f"W{w}" for w in range(n_words)), duration_ms


@settings(max_examples=100, deadline=None)
@given(spoken_utterances())
def test_phone_segments_tile_the_utterance_and_words_sit_on_phone_boundaries(case):
    spoken, sentence, duration_ms = case
    words, phones = alignment_in_ms(spoken, sentence, duration_ms)
    assert [w.label for w in words] == sentence.split()
    assert phones[0].start == 0 and phones[-1].end == duration_ms / 1000
    assert all(a.end == b.start for a, b in itertools.pairwise(phones))
    assert all(s.end > s.start and s.label in PHONES for s in phones)
    for s in (*words, *phones):  # whole milliseconds
        assert round(s.start * 1000) == pytest.approx(s.start * 1000) and round(s.end * 1000) == pytest.approx(
            s.end * 1000
        )
    bounds = {s.start for s in phones} | {phones[-1].end}
    assert all(w.start in bounds and w.end in bounds for w in words)
    expected = [p for name, _, _ in spoken.phonemes for p in ESPEAK_TO_ARPABET[name]]
    assert [s.label for s in phones if s.label != SILENCE] == expected


def test_the_r_rule_drops_eSpeaks_extra_r_inside_a_word_but_never_a_word_initial_r():
    # GLORY-like: o@ (AO R) then eSpeak's extra r inside the word; FAR RIVER-like: A@ (AA R) then a new word's r.
    inside = FakeSpoken([("w0", 0, 300)], [("o@", 0, 200), ("r", 200, 300)], 0.0, 1 / 1000)
    _, phones = alignment_in_ms(inside, "W0", 300)
    assert [s.label for s in phones] == ["AO", "R"]
    across = FakeSpoken([("w0", 0, 200), ("w1", 200, 400)], [("A@", 0, 200), ("r", 200, 300), ("I", 300, 400)], 0, 1e-3)
    words, phones = alignment_in_ms(across, "W0 W1", 400)
    assert [s.label for s in phones] == ["AA", "R", "R", "IH"]
    assert words[1].start in {s.start for s in phones}


def test_mismatched_words_and_unknown_phonemes_leave_the_utterance_out():
    spoken = FakeSpoken([("w0", 0, 100)], [("t", 0, 50), ("a", 50, 100)], 0.1, 1 / 16000)
    with pytest.raises(UnalignableError, match="do not match the sentence"):
        alignment_in_ms(spoken, "W0 W1", 500)
    spoken.phonemes[1] = ("qq", 50, 100)
    with pytest.raises(UnalignableError, match="'qq' has no ARPAbet mapping"):
        alignment_in_ms(spoken, "W0", 500)


def test_a_killed_run_resumes_to_the_same_bytes_as_an_uninterrupted_one(asr_tiny_corpus, tmp_path, monkeypatch):
    from crossdistill.data import synth as paper000_synth

    original = paper000_synth.run_in_fresh_processes

    def killed_after_the_first_speaker(*args, **kwargs):
        for i, result in enumerate(original(*args, **kwargs)):
            if i == 1:
                raise KeyboardInterrupt  # leaving the pool terminates workers in the middle of their speaker
            yield result

    out = tmp_path / "corpus"
    monkeypatch.setattr(paper000_synth, "run_in_fresh_processes", killed_after_the_first_speaker)
    with pytest.raises(KeyboardInterrupt):
        synthesize_asr_corpus(out, "tiny", seed=0, jobs=1, progress=False)
    assert (out / UNFINISHED_MARKER).is_dir() and not (out / "corpus.json").exists()
    with pytest.raises(ValueError, match="unfinished synthesis"):
        load_asr_corpus(out, progress=False)
    # A worker killed while writing leaves a temporary file and a broken flac in its chapter.
    chapter = out / "test" / "1005" / "10005"
    chapter.mkdir(parents=True, exist_ok=True)
    (chapter / ".1005-10005-0000.k3j2.tmp.flac").write_bytes(b"half")
    (chapter / "1005-10005-0000.flac").write_bytes(b"broken")
    with pytest.raises(ValueError, match="holds an unfinished synthesis with other options"):
        synthesize_asr_corpus(out, "tiny", seed=1, jobs=1, progress=False)

    monkeypatch.setattr(paper000_synth, "run_in_fresh_processes", original)
    synthesize_asr_corpus(out, "tiny", seed=0, jobs=1, progress=False)  # one worker here, two in the fixture
    assert _files(out) == _files(asr_tiny_corpus)


def test_finished_corpus_is_reused_and_other_folders_are_refused(asr_tiny_corpus, tmp_path):
    before = _files(asr_tiny_corpus)
    assert synthesize_asr_corpus(asr_tiny_corpus, "tiny", seed=0, progress=False) == asr_tiny_corpus
    assert _files(asr_tiny_corpus) == before
    with pytest.raises(ValueError, match="holds a corpus made with other options"):
        synthesize_asr_corpus(asr_tiny_corpus, "tiny", seed=3, progress=False)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not empty and holds no synthesis of ours"):
        synthesize_asr_corpus(busy, "tiny", progress=False)
    assert _files(busy) == {"notes.txt": b"mine"}
    with pytest.raises(ValueError, match="--preset 'huge' is unknown; choose one of tiny, small, default"):
        synthesize_asr_corpus(tmp_path / "new", "huge", progress=False)
    assert not (tmp_path / "new").exists()


def test_presets():
    tiny = get_preset("tiny")
    assert tiny.text == "sample" and tiny.speakers == {"train": 4, "dev": 1, "test": 1}
    for name in synth_module.preset_names():
        preset = get_preset(name)
        assert min(preset.speakers.values()) >= 1 and 0 <= preset.difficulty <= 1
    assert np.isclose(get_preset("default").difficulty, 0.5)


def test_text_restrictions_of_presets(monkeypatch):
    # Presets without restrictions record none, so corpora made before the options existed keep their identity.
    assert get_preset("default").text_options() == {}
    assert get_preset("fig3").text_options() == {"max_words": 15, "closed_vocabulary": 1000}
    table = dict(synth_module._presets())
    monkeypatch.setattr(synth_module, "_presets", lambda: table)
    table["short"] = {**table["tiny"], "max_words": 3}
    with pytest.raises(ValueError, match="preset 'short' has max_words 3 < 4"):
        get_preset("short")
    table["closed"] = {**table["tiny"], "closed_vocabulary": 0}
    with pytest.raises(ValueError, match="preset 'closed' has closed_vocabulary 0 < 1"):
        get_preset("closed")
    large = get_preset("fig3_large")
    assert large.text_options()["am_fractions"] == {"am_train": 0.2, "am_dev": 0.02, "am_test": 0.02}
    assert (large.text_fractions().am_train, large.text_fractions().lm_valid) == (0.2, SplitFractions().lm_valid)
    assert get_preset("fig3").text_fractions() is None
    table["typo"] = {**table["tiny"], "am_fractions": {"am_trian": 0.2}}
    with pytest.raises(ValueError, match=r"preset 'typo' has am_fractions keys \['am_trian'\]"):
        get_preset("typo")
    table["greedy"] = {**table["tiny"], "am_fractions": {"am_train": 0.7, "am_dev": 0.2, "am_test": 0.2}}
    with pytest.raises(ValueError, match=r"preset 'greedy': split fractions must .* sum to less than 1"):
        get_preset("greedy")


def test_am_fractions_choose_the_sentences_a_preset_reads(tmp_path, monkeypatch):
    from crossdistill.data.asr.text import load_text_splits

    table = dict(synth_module._presets())
    monkeypatch.setattr(synth_module, "_presets", lambda: table)
    shares = {"am_train": 0.5, "am_dev": 0.1, "am_test": 0.1}
    table["shares"] = {**table["tiny"], "speakers": {"train": 2, "dev": 1, "test": 1}, "utterances_per_speaker": 2,
                       "am_fractions": shares}  # fmt: skip
    out = synthesize_asr_corpus(tmp_path / "shares", "shares", progress=False)
    assert json.loads((out / "corpus.json").read_text())["options"]["am_fractions"] == shares
    text = load_text_splits("sample", 0, fractions=SplitFractions(**shares))
    default = load_text_splits("sample", 0)
    corpus = load_asr_corpus(out, progress=False)
    for split, sentences in (("train", text.am_train), ("dev", text.am_dev), ("test", text.am_test)):
        read = {" ".join(u.words) for u in corpus.splits[split]}
        assert read <= set(sentences)
    # The sample's default shares would have given other training sentences.
    assert not {" ".join(u.words) for u in corpus.splits["train"]} <= set(default.am_train)


def test_a_closed_vocabulary_preset_synthesizes_only_covered_sentences(tmp_path, monkeypatch):
    from crossdistill.data.asr.librispeech import load_asr_corpus
    from crossdistill.data.asr.text import load_text_splits, words_by_frequency

    table = dict(synth_module._presets())
    monkeypatch.setattr(synth_module, "_presets", lambda: table)
    table["closed"] = {**table["tiny"], "speakers": {"train": 2, "dev": 1, "test": 1}, "utterances_per_speaker": 2,
                       "max_words": 15, "closed_vocabulary": 3000}  # fmt: skip
    out = synthesize_asr_corpus(tmp_path / "closed", "closed", progress=False)
    options = json.loads((out / "corpus.json").read_text())["options"]
    assert options["max_words"] == 15 and options["closed_vocabulary"] == 3000
    vocabulary = set(words_by_frequency(load_text_splits("sample", 0, am_words=(4, 15)).lm_train)[:3000])
    corpus = load_asr_corpus(out, progress=False)
    words = [w for utterances in corpus.splits.values() for u in utterances for w in u.words]
    assert words and set(words) <= vocabulary
    assert max(len(u.words) for utterances in corpus.splits.values() for u in utterances) <= 15
