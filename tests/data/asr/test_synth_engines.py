"""Paper 001's corpus with several synthesis engines: it loads, every engine's phones are ARPAbet and tile the
audio, voices stay disjoint across splits, and every split hears every engine."""

from __future__ import annotations

import json

import numpy as np
import pytest

from crossdistill.data.asr import synth as synth_module
from crossdistill.data.asr.librispeech import load_asr_corpus
from crossdistill.data.asr.phones import PHONES
from crossdistill.data.asr.synth import (
    UnalignableError,
    alignment_in_ms,
    deal_voices,
    get_preset,
    plan_speakers,
    synthesize_asr_corpus,
)
from crossdistill.data.engines import installed_engines

INSTALLED = [name for name in installed_engines() if name != "espeak"]


@pytest.mark.skipif(
    not INSTALLED, reason="neither flite nor festival is installed (scripts/install-system-packages.sh)"
)
def test_a_tiny_corpus_with_several_engines_loads_with_arpabet_alignments(tmp_path):
    root = synthesize_asr_corpus(tmp_path / "c", "tiny", seed=0, jobs=2, progress=False, engines="all")
    metadata = json.loads((root / "corpus.json").read_text())
    assert set(metadata["options"]["engines"]) == {"espeak", *INSTALLED}
    speakers = [s for split in metadata["speakers"].values() for s in split]
    assert len({s.get("engine", "espeak") for s in speakers}) >= 2
    voices = metadata["voices_per_split"]
    assert not set(voices["train"]) & set(voices["dev"]) and not set(voices["train"]) & set(voices["test"])
    corpus = load_asr_corpus(root, progress=False)  # checks that phones tile the audio and words spell transcripts
    for split in corpus.splits:
        for alignment in corpus.alignments[split].values():
            assert {p.label for p in alignment.phones} <= set(PHONES)
    counts = metadata["counts"]
    assert sum(c["utterances"] for c in counts.values()) + len(metadata["dropped"]) == 30


def test_other_engines_voices_are_dealt_to_every_split():
    voices = {"espeak": (), "flite": ("kal", "kal16", "awb", "rms", "slt"), "festival": ("kal_diphone", "ked_diphone")}
    dealt = deal_voices(voices, np.random.default_rng(0))
    flite_of = {split: [v for v in dealt[split] if v.startswith("flite:")] for split in dealt}
    assert [len(flite_of[s]) for s in ("train", "dev", "test")] == [3, 1, 1]
    assert [sum(v.startswith("festival:") for v in dealt[s]) for s in ("train", "dev", "test")] == [1, 0, 1]
    assert all("m3" in dealt[split] for split in dealt)  # eSpeak's variants stay open to every split
    plans = plan_speakers(get_preset("tiny"), 0, {"train": ["A B"], "dev": ["C D"], "test": ["E F"]}, voices)
    dealt = deal_voices(voices, np.random.default_rng([0, synth_module._STREAM_ENGINE_VOICES]))  # the plan's deal
    split_of_voice = {}
    for plan in plans:
        assert split_of_voice.setdefault(plan.config.voice_id, plan.split) == plan.split
        if plan.config.engine != "espeak":
            assert plan.config.voice_id in dealt[plan.split]


class _Spoken:
    """What ``alignment_in_ms`` reads of a ``SpokenUtterance``, from a flite/festival voice (CMU phone set)."""

    phone_set = "cmu"

    def __init__(self, words, phonemes):
        self.words, self.phonemes = words, phonemes

    def seconds(self, sample: int) -> float:
        return sample / 1000


def test_cmu_phones_map_to_arpabet_and_share_a_syllabic_span():
    spoken = _Spoken([("bottle", 100, 400)], [("b", 100, 150), ("aa", 150, 250), ("dx", 250, 300), ("el", 300, 400)])
    words, phones = alignment_in_ms(spoken, "BOTTLE", 500)
    assert [(p.label, p.start, p.end) for p in phones] == [
        ("SIL", 0.0, 0.1), ("B", 0.1, 0.15), ("AA", 0.15, 0.25), ("T", 0.25, 0.3), ("AH", 0.3, 0.35),
        ("L", 0.35, 0.4), ("SIL", 0.4, 0.5)]  # fmt: skip
    assert [(w.label, w.start, w.end) for w in words] == [("BOTTLE", 0.1, 0.4)]
    spoken.phonemes[0] = ("q", 100, 150)
    with pytest.raises(UnalignableError, match="'q'"):
        alignment_in_ms(spoken, "BOTTLE", 500)
