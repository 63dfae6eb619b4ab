import itertools
import json
import shutil

import numpy as np
import pytest
import torch

from crossdistill.data.asr.units import load_units
from crossdistill.teachers.lm import posteriors as posteriors_module
from crossdistill.teachers.lm.config import load_lm_train_config
from crossdistill.teachers.lm.model import LSTMLanguageModel
from crossdistill.teachers.lm.posteriors import (
    CacheOptions,
    build_posterior_cache,
    effective_top_k,
    expected_posterior_key,
    load_posteriors,
)
from crossdistill.teachers.lm.training import train_lm
from crossdistill.teachers.lm.vocabulary import InventoryMismatch

from .conftest import make_inputs, write_units_folder

TINY = {"model.embedding_dim": 16, "model.hidden_dim": 24, "model.num_layers": 2, "batch_size": 16, "lr": 0.01,
        "threads": 1, "trainer.accelerator": "cpu", "trainer.progress_bar": "false", "epochs": 2}  # fmt: skip


def _train(units, unit, out, **extra):
    overrides = {"units": units, "unit": unit, "out": out, **TINY, **extra}
    train_lm(load_lm_train_config(None, [f"{k}={v}" for k, v in overrides.items()]))
    return out


@pytest.fixture(scope="module")
def lms(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm_posteriors")
    units = write_units_folder(root)
    return units, {unit: _train(units, unit, root / unit) for unit in ("phone", "senone", "subword")}


def _reference_rows(lm: LSTMLanguageModel, units: list[int]) -> torch.Tensor:
    """p(u_k | u_<k) for k = 1..S computed directly: the LM on <s> u_1 .. u_S, rows 0..S-1, </s> dropped."""
    boundary = lm.vocabulary.boundary
    with torch.no_grad():
        logits = lm(torch.tensor([[boundary, *units]]))[0, : len(units), :boundary]
    return torch.softmax(logits.double(), dim=-1)


@pytest.mark.parametrize("unit", ["phone", "senone", "subword"])
def test_each_segment_gets_the_lm_s_prediction_given_the_previous_units(lms, unit, tmp_path):
    units_dir, lm_dirs = lms
    lm = LSTMLanguageModel.from_pretrained(lm_dirs[unit])
    full = build_posterior_cache(CacheOptions(lm=lm_dirs[unit], top_k=0, out=tmp_path / "full", progress=False))
    top = build_posterior_cache(CacheOptions(lm=lm_dirs[unit], top_k=3, out=tmp_path / "top", progress=False))
    assert full["top_k"] == 0 and top["top_k"] == 3 and full["key"] != top["key"]
    folder = load_units(units_dir)
    full_cache = load_posteriors(full["cache"], full["key"])
    top_cache = load_posteriors(top["cache"], top["key"])
    assert full_cache.splits == sorted(folder.splits)
    for split in full_cache.splits:
        frames = folder.frames(split)
        for position, utt_id in enumerate(frames.utt_ids.tolist()):
            labels = frames.utterance(position)[unit]
            segments = full_cache.split(split).utterance(utt_id)
            units = [k for k, _ in itertools.groupby(labels.tolist())]
            assert segments.units.tolist() == units
            expected = _reference_rows(lm, units)
            assert torch.allclose(segments.probs.double(), expected, atol=1e-5)
            # Top-k: the k largest of the same rows, renormalized.
            kept = top_cache.split(split).utterance(utt_id)
            best = torch.topk(expected, 3, dim=-1)
            assert torch.equal(kept.top_ids, best.indices)
            assert torch.allclose(kept.probs.double(), best.values / best.values.sum(-1, keepdim=True), atol=1e-5)
            # Rearranged onto frames: every frame carries its own segment's row, and the frames line up.
            dense = segments.frames()
            assert dense.shape == (len(labels), lm.vocabulary.size)
            assert torch.allclose(dense.sum(-1), torch.ones(len(labels)), atol=1e-5)
            ends = np.cumsum(segments.segment_lengths.numpy())
            for t in range(len(labels)):
                assert torch.equal(dense[t], segments.probs[np.searchsorted(ends, t, side="right")])
            assert torch.equal(torch.repeat_interleave(segments.units, segments.segment_lengths),
                               torch.from_numpy(labels.astype(np.int64)))  # fmt: skip
    summary_frames = sum(len(folder.frames(s).labels["phone"]) for s in folder.splits)
    assert full["frames"] == summary_frames and full["utterances"] == sum(len(folder.frames(s).utt_ids)
                                                                           for s in folder.splits)  # fmt: skip
    assert full["bytes"] == sum(p.stat().st_size for p in (tmp_path / "full").glob("*.npz"))


def test_key_is_stable_and_changes_with_lm_alignment_units_and_top_k(lms, tmp_path):
    units_dir, lm_dirs = lms
    options = CacheOptions(lm=lm_dirs["phone"], progress=False)
    first = build_posterior_cache(options)
    again = build_posterior_cache(options)
    assert again["reused"] and again["key"] == first["key"] == expected_posterior_key(lm_dirs["phone"], units_dir)
    assert build_posterior_cache(CacheOptions(lm=lm_dirs["phone"], top_k=2, progress=False))["key"] != first["key"]

    # Another LM of the same unit (another seed): another key.
    other_lm = _train(units_dir, "phone", tmp_path / "other_lm", seed=1)
    assert expected_posterior_key(other_lm, units_dir) != first["key"]

    # Changed alignments: one frame's label moves to its neighbour's. The units key is unchanged here (the
    # hand-made inputs identify themselves by seed), yet the cache key changes, and the old cache is refused.
    moved = tmp_path / "moved"
    shutil.copytree(units_dir, moved)
    path = moved / "frames" / "train.npz"
    with np.load(path) as data:
        arrays = dict(data)
    boundary = int(np.flatnonzero(np.diff(arrays["phone"]) != 0)[0])
    arrays["phone"][boundary + 1] = arrays["phone"][boundary]
    np.savez(path, **arrays)
    new_key = expected_posterior_key(lm_dirs["phone"], moved)
    assert new_key != first["key"]
    with pytest.raises(ValueError, match="it was made from another LM, units folder, alignment"):
        load_posteriors(first["cache"], new_key)
    rebuilt = build_posterior_cache(CacheOptions(lm=lm_dirs["phone"], units=moved, progress=False))
    assert rebuilt["key"] == new_key and not rebuilt["reused"]

    # A units folder built from other inputs: another units key, another cache key.
    other_units = write_units_folder(tmp_path / "other_units", seed=5)
    assert expected_posterior_key(lm_dirs["phone"], other_units) != first["key"]


def test_the_corpus_check_uses_the_units_key(lms, tmp_path):
    _, lm_dirs = lms
    same = make_inputs(tmp_path / "same")  # the fixture's inputs again: same identity, same key
    build_posterior_cache(CacheOptions(lm=lm_dirs["phone"], corpus=same, out=tmp_path / "ok", progress=False))
    other = make_inputs(tmp_path / "other", seed=3)
    with pytest.raises(ValueError, match="was built from other inputs"):
        build_posterior_cache(CacheOptions(lm=lm_dirs["phone"], corpus=other, out=tmp_path / "no", progress=False))
    assert not (tmp_path / "no").exists()


def test_an_lm_whose_inventory_differs_from_the_units_is_refused(lms, tmp_path):
    units_dir, lm_dirs = lms
    renamed = tmp_path / "renamed"
    shutil.copytree(units_dir, renamed)
    names = (renamed / "senone.txt").read_text().splitlines()
    names[0], names[1] = names[1], names[0]
    (renamed / "senone.txt").write_text("\n".join(names) + "\n")
    with pytest.raises(InventoryMismatch, match=rf"{renamed / 'senone.txt'} names senone 0 '{names[0]}'"):
        build_posterior_cache(CacheOptions(lm=lm_dirs["senone"], units=renamed, progress=False))
    bigger = write_units_folder(tmp_path / "bigger")  # same inputs; a larger senone tree
    (bigger / "senone.txt").write_text((bigger / "senone.txt").read_text() + "EXTRA\n")
    summary = json.loads((bigger / "units.json").read_text())
    (bigger / "units.json").write_text(json.dumps({**summary, "senones": summary["senones"] + 1}))
    with pytest.raises(InventoryMismatch, match=r"has \d+ senones but the LM was trained on \d+"):
        build_posterior_cache(CacheOptions(lm=lm_dirs["senone"], units=bigger, progress=False))


def test_frame_labels_outside_the_inventory_and_non_lms_are_refused(lms, tmp_path):
    units_dir, lm_dirs = lms
    broken = tmp_path / "broken"
    shutil.copytree(units_dir, broken)
    path = broken / "frames" / "dev.npz"
    with np.load(path) as data:
        arrays = dict(data)
    arrays["phone"][3] = 41
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"frames/dev\.npz: phone ids outside the inventory"):
        build_posterior_cache(CacheOptions(lm=lm_dirs["phone"], units=broken, out=tmp_path / "c", progress=False))
    assert not (tmp_path / "c").exists()
    with pytest.raises(FileNotFoundError, match="is not a trained LM"):
        build_posterior_cache(CacheOptions(lm=units_dir, progress=False))
    with pytest.raises(ValueError, match="--top-k must be >= 0"):
        build_posterior_cache(CacheOptions(lm=lm_dirs["phone"], top_k=-1))


def test_a_failed_build_leaves_the_previous_cache_whole(lms, tmp_path, monkeypatch):
    _, lm_dirs = lms
    out = tmp_path / "cache"
    good = build_posterior_cache(CacheOptions(lm=lm_dirs["phone"], top_k=4, out=out, progress=False))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real, calls = posteriors_module.segment_posteriors, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(posteriors_module, "segment_posteriors", failing)
    with pytest.raises(RuntimeError, match="killed"):
        build_posterior_cache(CacheOptions(lm=lm_dirs["phone"], top_k=5, out=out, progress=False))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["cache"], "no temporary folder is left behind"
    assert load_posteriors(out, good["key"]).split("dev").utterance(0).probs.shape[1] == 4


def test_top_k_rows_are_kept_only_when_smaller_than_full_rows():
    # A top-k row takes k float32 probabilities and k int16 ids; a full row V float32 probabilities.
    assert effective_top_k(32, 1000) == 32
    assert effective_top_k(27, 41) == 27  # 27 * 6 = 162 bytes < 41 * 4 = 164
    assert effective_top_k(28, 41) == 0  # 168 bytes >= 164: full rows are smaller
    assert effective_top_k(0, 1000) == 0
