"""Open and cross-check everything a seq2seq run reads, before its run folder is touched.

- the corpus (validated by ``load_asr_corpus``) and the units folder made from it (``load_units`` checks its key);
- the target subwords of every train and dev transcript, from the units folder's sentencepiece model, each word
  encoded alone as the units folder and the LM text do; a word the model can only spell with ``<unk>`` (a
  character it never saw) is an error naming the word, the transcript file and the line. Test transcripts are
  only references for WER: their uncoverable words are counted, not refused (``oov``);
- for LST and the multi-task head, the subword LM and its transcript cache (``crossdistill asr lm transcripts``):
  the LM's vocabulary must equal the units folder's subword inventory, the cache's key must be the one this LM,
  units folder and corpus give, and its target tokens must be ours; the cache is built when it is missing;
- the fbank features of every split (computed and cached on first use).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from crossdistill.data.asr.features import FbankSettings, PackedFeatures, feature_cache_dir, load_or_compute_fbank
from crossdistill.data.asr.librispeech import AsrCorpus, AsrUtterance, load_asr_corpus
from crossdistill.data.asr.units import Units, load_units
from crossdistill.data.asr.units.subwords import SubwordModel
from crossdistill.teachers.lm.transcripts import TranscriptCache
from crossdistill.train.asr.seq2seq_config import objective_of

ROLES = ("train", "dev", "test")
TARGET_ROLES = ("train", "dev")  # splits whose transcripts become decoder targets


@dataclass
class Seq2SeqInputs:
    """The checked inputs of one run.

    corpus: the validated corpus. units: its units folder. splits: role -> split name. subwords: the sentencepiece
    model. tokens: role -> utt_id -> target subword ids (without ``<s>``/``</s>``), for the train and dev roles.
    oov: role -> words (with repeats) that the sentencepiece model cannot spell, for the test role (references only).
    features: split -> packed fbank. features_key: the fbank cache's key. teacher: the transcript cache or None.
    """

    corpus: AsrCorpus
    units: Units
    splits: dict[str, str]
    subwords: SubwordModel
    tokens: dict[str, dict[str, np.ndarray]]
    oov: dict[str, list[str]]
    features: dict[str, PackedFeatures]
    features_key: str
    teacher: TranscriptCache | None

    @property
    def vocab_size(self) -> int:
        return self.units.size("subword")

    def utterances(self, role: str) -> tuple[AsrUtterance, ...]:
        return self.corpus.splits[self.splits[role]]

    def identity(self) -> dict[str, Any]:
        """What the inputs contribute to a run's identity: keys, never paths."""
        return {
            "corpus": self.corpus.fingerprint(),
            "units": self.units.key,
            "features": self.features_key,
            "teacher": None if self.teacher is None else self.teacher.meta["key"],
        }


def open_seq2seq_inputs(config: DictConfig, progress: bool = True) -> Seq2SeqInputs:
    """Read and check the inputs ``config`` names (see the module docstring)."""
    corpus = load_asr_corpus(config.corpus, progress=progress)
    splits = {role: config.splits[role] for role in ROLES}
    for role, split in splits.items():
        if split not in corpus.splits:
            raise ValueError(f"splits.{role}={split!r}: corpus {config.corpus} has splits {sorted(corpus.splits)}")
    units = load_units(config.units, corpus)
    subwords = open_subword_model(units)
    tokens, oov = {}, {}
    for role in ROLES:
        encoded, uncovered = encode_transcripts(subwords, corpus.splits[splits[role]])
        if uncovered and role in TARGET_ROLES:
            utterance, word = uncovered[0]
            more = f" ({len(uncovered) - 1} more such word occurrence(s))" if len(uncovered) > 1 else ""
            raise ValueError(f"splits.{role}={splits[role]!r}: {uncoverable_word(subwords, utterance, word)}{more}")
        tokens[role], oov[role] = encoded, [word for _, word in uncovered]
    teacher = open_transcript_teacher(config, corpus, tokens, progress) if objective_of(config).uses_teacher else None
    settings = FbankSettings(num_mel_bins=config.model.num_mel_bins)
    features = load_or_compute_fbank(corpus, settings, config.features_cache, progress)
    return Seq2SeqInputs(
        corpus,
        units,
        splits,
        subwords,
        {r: tokens[r] for r in TARGET_ROLES},
        {"test": oov["test"]},
        features,
        feature_cache_dir(corpus, settings, config.features_cache).name,
        teacher,
    )


def open_subword_model(units: Units) -> SubwordModel:
    """The units folder's sentencepiece model, checked to spell exactly its ``subword.txt`` inventory."""
    model = SubwordModel(units.folder / "subword.model")
    inventory = sorted(units.inventories["subword"], key=units.inventories["subword"].__getitem__)
    if model.pieces != inventory:
        raise ValueError(f"{units.folder / 'subword.model'} does not match {units.folder / 'subword.txt'}")
    return model


def encode_transcripts(
    model: SubwordModel, utterances: tuple[AsrUtterance, ...] | list[AsrUtterance]
) -> tuple[dict[str, np.ndarray], list[tuple[AsrUtterance, str]]]:
    """Target ids of every utterance (each word encoded alone), and every (utterance, word) occurrence whose
    spelling needs ``<unk>``."""
    unk = model.processor.unk_id()
    words = sorted({word for u in utterances for word in u.words})
    spelled = dict(zip(words, model.encode_words(words), strict=True))
    tokens, uncovered = {}, []
    for u in utterances:
        tokens[u.utt_id] = np.asarray([piece for word in u.words for piece in spelled[word]], dtype=np.int64)
        uncovered += [(u, word) for word in u.words if unk in spelled[word]]
    return tokens, uncovered


def uncoverable_word(model: SubwordModel, utterance: AsrUtterance, word: str) -> str:
    return (
        f"{utterance.transcript}, line {utterance.line}: word {word!r} of {utterance.utt_id} cannot be spelled by the "
        f"sentencepiece model {model.path} (it needs <unk>: a character the subword model never saw)"
    )


def open_transcript_teacher(
    config: DictConfig, corpus: AsrCorpus, tokens: dict[str, dict[str, np.ndarray]], progress: bool
) -> TranscriptCache:
    """The subword LM's transcript cache for this corpus and units folder, built when missing, checked to hold our
    target tokens for every train and dev utterance."""
    from crossdistill.teachers.lm.posteriors import CacheOptions
    from crossdistill.teachers.lm.transcripts import (
        build_transcript_cache,
        expected_transcript_key,
        load_transcript_posteriors,
    )

    lm = Path(config.lm)
    if not lm.is_dir():
        raise FileNotFoundError(f"lm: LM folder {lm} does not exist (train it with crossdistill asr lm train)")
    # Checks the LM's unit (subword) and its vocabulary against the units folder's inventory, naming the difference.
    expected = expected_transcript_key(lm, config.units, corpus, config.teacher_top_k)
    cache = config.teacher_cache
    if cache is None:
        options = CacheOptions(
            lm=lm,
            corpus=Path(config.corpus),
            units=Path(config.units),
            top_k=config.teacher_top_k,
            threads=config.threads,
            progress=progress,
        )
        cache = build_transcript_cache(options)["cache"]
    teacher = load_transcript_posteriors(cache, expected)
    for role, encoded in tokens.items():
        if role not in TARGET_ROLES:
            continue
        for utt_id, ids in encoded.items():
            cached = teacher.utterance(utt_id).tokens.numpy()
            if not np.array_equal(cached, ids):
                raise ValueError(
                    f"the transcript cache {cache} spells {utt_id} as {cached.tolist()}, the units "
                    f"folder's sentencepiece model as {ids.tolist()}"
                )
    return teacher
