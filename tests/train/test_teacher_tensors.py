"""Training reads the teacher cache only when its key matches its teacher on the run's corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crossdistill.data.corpus import load_corpus
from crossdistill.teachers.text.cache import TeacherCacheError
from crossdistill.train.config import load_train_config
from crossdistill.train.run import train_intent
from crossdistill.train.teacher_tensors import open_teacher_lookup

CONFIGS = Path(__file__).parents[2] / "configs" / "table1"
KEYS = ["confidence/intent", "logits/intent"]


def _edit_index(cache: Path, **changes) -> None:
    index = json.loads((cache / "index.json").read_text())
    (cache / "index.json").write_text(json.dumps({**index, **changes}))


def test_the_cache_must_match_its_teacher_and_the_corpus(pipeline, tiny_corpus, tmp_path):
    corpus = load_corpus(pipeline.corpus)
    assert set(open_teacher_lookup(pipeline.teacher_cache, KEYS, corpus)([corpus.utterances()[0].utt_id])) == set(KEYS)
    # The same cache on another corpus (other transcripts and labels): refused before any tensor is read.
    with pytest.raises(ValueError):
        open_teacher_lookup(pipeline.teacher_cache, KEYS, load_corpus(tiny_corpus))

    stale = Path(shutil.copytree(pipeline.teacher_cache, tmp_path / "stale"))
    _edit_index(stale, key="0123456789abcdef")  # e.g. built by an earlier version of the teacher
    with pytest.raises(TeacherCacheError, match="has key 0123456789abcdef, expected"):
        open_teacher_lookup(stale, KEYS, corpus)

    orphan = Path(shutil.copytree(pipeline.teacher_cache, tmp_path / "orphan"))
    _edit_index(orphan, teacher_dir=str(tmp_path / "deleted_teacher"))
    with pytest.raises(FileNotFoundError, match="cannot be checked"):
        open_teacher_lookup(orphan, KEYS, corpus)


def test_a_run_with_a_stale_cache_stops_before_writing(pipeline, tmp_path):
    stale = Path(shutil.copytree(pipeline.teacher_cache, tmp_path / "stale"))
    _edit_index(stale, key="0123456789abcdef")
    out = tmp_path / "run"
    config = load_train_config(CONFIGS / "dropout.yaml", pipeline.overrides(out, teacher_cache=stale, epochs=1))
    with pytest.raises(TeacherCacheError):
        train_intent(config)
    assert not out.exists()
