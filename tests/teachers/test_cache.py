"""Teacher cache: round trip, per-unique = per-utterance, invalidation, and the errors it must raise."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from crossdistill.kd import DROPOUT_SITES, dropout_confidence, normalized_entropy
from crossdistill.teachers.text import (
    CacheOptions,
    TeacherCache,
    TeacherCacheError,
    TeacherLabelMismatch,
    build_teacher_cache,
    compute_cache_key,
    compute_teacher_outputs,
    default_cache_dir,
    load_teacher,
    load_teacher_cache,
)

FAST = CacheOptions(n_masks=20, p=0.1, seed=0)  # fewer masks than the paper's 100: same code, faster test


@pytest.fixture(scope="module")
def scratch_cache(scratch_teacher, teacher_corpus):
    """The scratch teacher's cache on the teacher corpus (built once for this module)."""
    teacher_dir, _ = scratch_teacher
    return build_teacher_cache(teacher_dir, teacher_corpus, FAST, progress=False)


def all_utterances(corpus):
    return [u for utts in corpus.splits.values() for u in utts]


def test_cache_round_trip(scratch_teacher, teacher_corpus, scratch_cache):
    teacher_dir, _ = scratch_teacher
    key = compute_cache_key(teacher_dir, teacher_corpus, FAST)
    assert scratch_cache == default_cache_dir(teacher_dir, key)
    cache = load_teacher_cache(teacher_dir, teacher_corpus, FAST)
    utterances = all_utterances(teacher_corpus)
    assert len(cache) == len(utterances) == 500
    assert len(cache.index["transcripts"]) == 255  # every phrasing once; held-out speakers repeat them
    assert cache.names == ("confidence/intent", "entropy/intent", "logits/intent")
    picked = [utterances[i].utt_id for i in (499, 0, 3, 0)]
    batch = cache.lookup(picked)
    assert batch["logits/intent"].shape == (4, len(teacher_corpus.labels.intents))
    assert batch["entropy/intent"].shape == batch["confidence/intent"].shape == (4,)
    torch.testing.assert_close(batch["logits/intent"][1], batch["logits/intent"][3])
    # The cached values are the teacher's: recompute them directly for the picked transcripts.
    teacher = load_teacher(teacher_dir)
    direct = compute_teacher_outputs(
        teacher, [utterances[i].transcription for i in (499, 0, 3, 0)], FAST.n_masks, FAST.p, FAST.seed
    )
    for name, value in direct.items():
        torch.testing.assert_close(batch[name], value, rtol=1e-5, atol=1e-6)
    probs = torch.softmax(batch["logits/intent"].double(), -1)
    torch.testing.assert_close(batch["entropy/intent"].double(), normalized_entropy(probs), rtol=1e-5, atol=1e-6)
    assert (batch["confidence/intent"] >= 0).all()
    assert ((batch["entropy/intent"] >= 0) & (batch["entropy/intent"] <= 1)).all()


@pytest.mark.parametrize("fixture", ["scratch_teacher", "minilm_teacher"])
def test_per_unique_transcript_equals_per_utterance(fixture, teacher_corpus, request, tmp_path):
    teacher_dir, _ = request.getfixturevalue(fixture)
    options = CacheOptions(n_masks=10, p=0.2, seed=3, dropout_site="features")
    folder = build_teacher_cache(teacher_dir, teacher_corpus, options, out=tmp_path / "cache", progress=False)
    cache = TeacherCache.load(folder)
    utterances = all_utterances(teacher_corpus)
    per_utterance = compute_teacher_outputs(
        load_teacher(teacher_dir),
        [u.transcription for u in utterances],
        options.n_masks,
        options.p,
        options.seed,
        options.dropout_site,
    )
    fanned_out = cache.lookup([u.utt_id for u in utterances])
    assert fanned_out.keys() == per_utterance.keys()
    for name in per_utterance:
        torch.testing.assert_close(fanned_out[name], per_utterance[name], rtol=1e-4, atol=1e-5)


def test_existing_cache_is_reused(scratch_teacher, teacher_corpus, scratch_cache):
    index = scratch_cache / "index.json"
    before = index.stat().st_mtime_ns
    assert build_teacher_cache(scratch_teacher[0], teacher_corpus, FAST, progress=False) == scratch_cache
    assert index.stat().st_mtime_ns == before


def test_changed_options_or_weights_give_a_new_key(scratch_teacher, teacher_corpus, tmp_path):
    teacher_dir = tmp_path / "teacher"
    shutil.copytree(scratch_teacher[0], teacher_dir, ignore=shutil.ignore_patterns("cache"))
    key = compute_cache_key(teacher_dir, teacher_corpus, FAST)
    assert key == compute_cache_key(scratch_teacher[0], teacher_corpus, FAST)  # same bytes, same key
    others = {
        compute_cache_key(teacher_dir, teacher_corpus, o)
        for o in (
            CacheOptions(n_masks=21),
            CacheOptions(n_masks=20, p=0.2),
            CacheOptions(n_masks=20, seed=1),
            *(CacheOptions(n_masks=20, dropout_site=site) for site in DROPOUT_SITES if site != FAST.dropout_site),
        )
    }
    assert key not in others and len(others) == 3 + len(DROPOUT_SITES) - 1

    from safetensors.torch import load_file, save_file

    weights = load_file(teacher_dir / "model.safetensors")
    weights["heads.intent.bias"] = weights["heads.intent.bias"] + 1.0
    save_file(weights, teacher_dir / "model.safetensors", metadata={"format": "pt"})
    new_key = compute_cache_key(teacher_dir, teacher_corpus, FAST)
    assert new_key != key
    with pytest.raises(FileNotFoundError, match=r"no teacher cache .* build it with `crossdistill teacher cache"):
        load_teacher_cache(teacher_dir, teacher_corpus, FAST)
    # A cache of the old weights, loaded with the new key, is refused.
    old_cache = build_teacher_cache(scratch_teacher[0], teacher_corpus, FAST, progress=False)
    with pytest.raises(TeacherCacheError, match="built for another teacher, options or corpus"):
        TeacherCache.load(old_cache, expected_key=new_key)
    with pytest.raises(TeacherCacheError, match="built for another"):
        load_teacher_cache(teacher_dir, teacher_corpus, FAST, path=old_cache)


def test_changed_transcripts_give_a_new_key(scratch_teacher, teacher_corpus):
    from dataclasses import replace

    from crossdistill.data.corpus import Corpus

    splits = {s: list(u) for s, u in teacher_corpus.splits.items()}
    splits["test"][0] = replace(splits["test"][0], transcription="Turn on the lights")
    edited = Corpus(teacher_corpus.root, splits, teacher_corpus.labels)
    assert compute_cache_key(scratch_teacher[0], edited, FAST) != compute_cache_key(
        scratch_teacher[0], teacher_corpus, FAST
    )


def test_load_teacher_cache_can_build_on_demand(scratch_teacher, teacher_corpus, tmp_path):
    options = CacheOptions(n_masks=3)
    with pytest.raises(FileNotFoundError, match="no teacher cache"):
        load_teacher_cache(scratch_teacher[0], teacher_corpus, options, path=tmp_path / "c")
    cache = load_teacher_cache(
        scratch_teacher[0], teacher_corpus, options, path=tmp_path / "c", build=True, progress=False
    )
    assert cache.options == options and cache.path == tmp_path / "c" and len(cache) == 500


def test_missing_utterance_fails_clearly(scratch_cache):
    cache = TeacherCache.load(scratch_cache)
    with pytest.raises(TeacherCacheError, match=r"1 utterance\(s\) not in teacher cache .*'wavs/nope'"):
        cache.lookup([cache.utt_ids[0], "wavs/nope"])


def test_teacher_from_another_label_set_is_refused(scratch_teacher, tiny_corpus):
    from crossdistill.data.corpus import load_corpus

    other = load_corpus(tiny_corpus)  # 16 training utterances: only some of the 31 intents
    with pytest.raises(TeacherLabelMismatch, match=r"label set does not match the corpus .*intents: teacher has 31"):
        build_teacher_cache(scratch_teacher[0], other, FAST, progress=False)


def test_cache_never_goes_into_the_corpus_or_over_foreign_folders(scratch_teacher, teacher_corpus, tmp_path):
    with pytest.raises(ValueError, match="lies inside the corpus"):
        build_teacher_cache(scratch_teacher[0], teacher_corpus, FAST, out=teacher_corpus.root / "cache")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "results.csv").write_text("precious")
    with pytest.raises(ValueError, match="is not a teacher cache; refusing"):
        build_teacher_cache(scratch_teacher[0], teacher_corpus, FAST, out=foreign, overwrite=True)
    assert (foreign / "results.csv").read_text() == "precious"


def test_explicit_out_with_another_key_needs_overwrite(scratch_teacher, teacher_corpus, tmp_path):
    out = tmp_path / "cache"
    build_teacher_cache(scratch_teacher[0], teacher_corpus, FAST, out=out, progress=False)
    other = CacheOptions(n_masks=5)
    with pytest.raises(ValueError, match="holds a teacher cache with another key"):
        build_teacher_cache(scratch_teacher[0], teacher_corpus, other, out=out, progress=False)
    build_teacher_cache(scratch_teacher[0], teacher_corpus, other, out=out, progress=False, overwrite=True)
    assert TeacherCache.load(out).options == other
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]  # no staging folders left behind


def test_default_cache_holds_d_of_the_centred_logits(scratch_cache):
    # D read from the cache is a function of T: recomputing it from the cached logits shifted by +5 (same T)
    # with each transcript's masks gives the cached value back.
    from crossdistill.teachers.text.inference import mask_generator

    cache = TeacherCache.load(scratch_cache)
    assert cache.options.dropout_site == "centred_logits"
    for row in (0, 7, 42):
        text = cache.index["transcripts"][row]
        logits = cache.tensors["logits/intent"][row : row + 1]
        shifted = dropout_confidence(logits + 5.0, FAST.n_masks, FAST.p, mask_generator(FAST.seed, "intent", text))
        torch.testing.assert_close(shifted[0], cache.tensors["confidence/intent"][row], rtol=1e-4, atol=1e-5)


def test_cache_of_an_older_format_is_refused(scratch_cache, tmp_path):
    # Format 1 stored D of the raw logits under the default options: it must never be read as today's D.
    copy = tmp_path / "copy"
    shutil.copytree(scratch_cache, copy)
    index = json.loads((copy / "index.json").read_text())
    index["format_version"] = 1
    (copy / "index.json").write_text(json.dumps(index))
    with pytest.raises(TeacherCacheError, match="cache format 1, this version reads only 2; rebuild it"):
        TeacherCache.load(copy)


def test_corrupt_cache_is_detected(scratch_cache, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(scratch_cache, copy)
    index = json.loads((copy / "index.json").read_text())
    index["transcripts"] = index["transcripts"][:-1]
    (copy / "index.json").write_text(json.dumps(index))
    with pytest.raises(TeacherCacheError, match="corrupt cache"):
        TeacherCache.load(copy)
    (copy / "tensors.safetensors").write_bytes(b"garbage")
    with pytest.raises(TeacherCacheError, match="unreadable cache tensors"):
        TeacherCache.load(copy)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"n_masks": 0}, "--n-masks"), ({"p": 1.0}, "--p"), ({"dropout_site": "input"}, "--dropout-site")],
)
def test_bad_cache_options_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        CacheOptions(**overrides)
