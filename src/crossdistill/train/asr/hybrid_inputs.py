"""Open and cross-check everything a hybrid AM run reads, before its run folder is touched.

- the corpus (validated by ``load_asr_corpus``) and the units folder made from it (``load_units`` checks its key
  against the corpus: other alignments, lexicon or LM text are refused);
- for each distilled unit, the LM teacher and its frame-wise posterior cache: the LM's inventory must be the units
  folder's, and the cache's key must be the one this LM and this units folder give (``posterior_cache_key``), so a
  cache made for other alignments, another units folder or another LM is refused;
- the fbank features of every split (computed and cached on first use), whose frame counts, like the cached
  posteriors', must equal the frame labels' utterance by utterance.

Every error names the file or the config key at fault.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from crossdistill.data.asr.features import FbankSettings, PackedFeatures, feature_cache_dir, load_or_compute_fbank
from crossdistill.data.asr.librispeech import AsrCorpus, load_asr_corpus
from crossdistill.data.asr.units import Units, load_units
from crossdistill.data.asr.units.labels import FrameLabels
from crossdistill.teachers.lm.posteriors import (
    CACHE_FILE,
    PosteriorCache,
    load_posteriors,
    open_teacher_inputs,
    posterior_cache_key,
)
from crossdistill.train.asr.hybrid_config import teacher_lm_dir


@dataclass
class HybridInputs:
    """The checked inputs of one run.

    corpus: the validated corpus. units: its units folder (inventories, frame labels, key). splits: role -> split
    name (``train``, ``dev``, ``test``). features: split -> packed fbank features. features_key: the fbank cache's
    key (its folder name). teachers: distilled unit -> its posterior cache.
    """

    corpus: AsrCorpus
    units: Units
    splits: dict[str, str]
    features: dict[str, PackedFeatures]
    features_key: str
    teachers: dict[str, PosteriorCache]

    def frame_labels(self, role: str) -> FrameLabels:
        return self.units.frames(self.splits[role])

    def identity(self) -> dict[str, Any]:
        """What the inputs contribute to a run's identity: keys, never paths."""
        return {
            "corpus": self.corpus.fingerprint(),
            "units": self.units.key,
            "features": self.features_key,
            "teachers": {unit: cache.key for unit, cache in self.teachers.items()},
        }


def open_hybrid_inputs(config: DictConfig, progress: bool = True) -> HybridInputs:
    """Read and check the inputs ``config`` names (see the module docstring)."""
    corpus = load_asr_corpus(config.corpus, progress=progress)
    splits = {role: config.splits[role] for role in ("train", "dev", "test")}
    for role, split in splits.items():
        if split not in corpus.splits:
            raise ValueError(f"splits.{role}={split!r}: corpus {config.corpus} has splits {sorted(corpus.splits)}")
    units = load_units(config.units, corpus)
    for role, split in splits.items():
        if split not in units.splits:
            raise ValueError(
                f"splits.{role}={split!r}: units folder {config.units} has frame labels for {units.splits} only "
                "(splits without alignments get none)"
            )
    teachers = {unit: open_teacher_cache(config, unit, list(splits.values())) for unit in config.distill}
    settings = FbankSettings(num_mel_bins=config.model.num_mel_bins)
    features = load_or_compute_fbank(corpus, settings, config.features_cache, progress)
    inputs = HybridInputs(
        corpus=corpus,
        units=units,
        splits=splits,
        features=features,
        features_key=feature_cache_dir(corpus, settings, config.features_cache).name,
        teachers=teachers,
    )
    for role in splits:
        check_frame_counts(inputs, role)
    return inputs


def open_teacher_cache(config: DictConfig, unit: str, splits: list[str]) -> PosteriorCache:
    """The posterior cache of the teacher over ``unit``, checked to be made by that LM for this units folder."""
    lm_dir = teacher_lm_dir(config, unit)
    if not lm_dir.is_dir():
        raise FileNotFoundError(
            f"teachers.{unit}.lm: LM folder {lm_dir} does not exist (train it with crossdistill asr lm train)"
        )
    teacher = open_teacher_inputs(lm_dir, config.units, top_k=0)  # checks the LM's inventory against the units
    if teacher.unit != unit:
        raise ValueError(f"teachers.{unit}.lm: {lm_dir} is an LM over {teacher.unit}s, not {unit}s")
    explicit = config.teachers[unit].posteriors
    candidates = [Path(explicit)] if explicit is not None else sorted((lm_dir / "posteriors").glob(f"*/{CACHE_FILE}"))
    candidates = [path.parent if path.name == CACHE_FILE else path for path in candidates]
    matching = []
    for folder in candidates:
        top_k = _cache_top_k(folder, f"teachers.{unit}.posteriors")
        expected = posterior_cache_key(dataclasses.replace(teacher, top_k=top_k), teacher.units.splits())
        if explicit is not None:
            matching.append(load_posteriors(folder, expected))  # refuses another LM, units folder or alignment
        elif _cache_key(folder) == expected:
            matching.append(load_posteriors(folder, expected))
    if not matching:
        raise FileNotFoundError(
            f"teachers.{unit}: no posterior cache under {lm_dir / 'posteriors'} was made by this LM for units folder "
            f"{config.units}; build it with `crossdistill asr lm posteriors --lm {lm_dir} --corpus {config.corpus} "
            f"--units {config.units}` or set teachers.{unit}.posteriors"
        )
    if len(matching) > 1:
        raise ValueError(
            f"teachers.{unit}: several posterior caches under {lm_dir / 'posteriors'} fit "
            f"({[str(c.root) for c in matching]}); choose one with teachers.{unit}.posteriors"
        )
    cache = matching[0]
    if cache.unit != unit:
        raise ValueError(f"teachers.{unit}.posteriors: {cache.root} holds {cache.unit} posteriors")
    missing = [split for split in splits if split not in cache.splits]
    if missing:
        raise ValueError(f"teachers.{unit}.posteriors: {cache.root} has no split(s) {missing}")
    return cache


def _cache_top_k(folder: Path, key: str) -> int:
    meta_path = folder / CACHE_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"{key}: {meta_path} not found (not a posterior cache; see crossdistill asr lm posteriors)"
        )
    try:
        return int(json.loads(meta_path.read_text(encoding="utf-8"))["top_k"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{key}: {meta_path} is not a posterior cache's metadata ({error})") from None


def _cache_key(folder: Path) -> str | None:
    return json.loads((folder / CACHE_FILE).read_text(encoding="utf-8")).get("key")


def check_frame_counts(inputs: HybridInputs, role: str) -> None:
    """Features, frame labels and every cache give each utterance of the split the same number of frames."""
    split = inputs.splits[role]
    labels = inputs.frame_labels(role)
    utt_ids = tuple(str(u) for u in labels.utt_ids)
    frames = np.diff(labels.offsets)
    packed = inputs.features[split]
    feature_frames = np.array([packed.offsets[packed.index_of(u) + 1] - packed.offsets[packed.index_of(u)]
                               for u in utt_ids], dtype=np.int64)  # fmt: skip
    _compare(frames, feature_frames, utt_ids, f"the fbank features of split {split!r}")
    for unit, cache in inputs.teachers.items():
        posteriors = cache.split(split)
        if tuple(posteriors.utt_ids) != utt_ids:
            raise ValueError(f"{cache.root}/{split}.npz lists other utterances than the units folder's {split} split")
        per_segment = np.concatenate([[0], np.cumsum(posteriors.segment_lengths.numpy())])
        cached_frames = per_segment[posteriors.utt_offsets[1:]] - per_segment[posteriors.utt_offsets[:-1]]
        _compare(frames, cached_frames, utt_ids, f"the {unit} posterior cache {cache.root} ({split})")


def _compare(expected: np.ndarray, got: np.ndarray, utt_ids: tuple[str, ...], what: str) -> None:
    bad = np.flatnonzero(expected != got)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{what} gives utterance {utt_ids[i]} {int(got[i])} frames, its frame labels {int(expected[i])} "
            f"({bad.size} utterance(s) differ)"
        )
