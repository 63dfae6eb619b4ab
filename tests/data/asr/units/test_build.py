"""Building a units folder from hand-made inputs: contents, determinism, resume after a crash, key checks, errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from crossdistill.data.asr.phones import PHONES
from crossdistill.data.asr.units import build as build_module
from crossdistill.data.asr.units import load_units
from crossdistill.data.asr.units.build import UnitsOptions, build_units
from crossdistill.data.asr.units.contexts import frame_contexts

from .conftest import make_inputs

OPTIONS = UnitsOptions(senones=200, subwords=40, min_leaf_frames=20)
CONTENT = [
    "phone.txt",
    "senone.txt",
    "senone_tree.txt",
    "subword.model",
    "subword.txt",
    *[f"frames/{s}.npz" for s in ("train", "dev", "test")],
    *[f"lm/{u}.{p}.txt" for u in ("senone", "phone", "subword") for p in ("train", "valid", "dev")],
]


def contents(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in CONTENT}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("units")
    inputs = make_inputs(root / "inputs")
    summary = build_units(inputs, root / "units", OPTIONS, progress=False)
    return inputs, root / "units", summary


def test_folder_holds_the_inventories_frames_and_lm_text(built):
    inputs, folder, summary = built
    units = load_units(folder, inputs)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(
        [*CONTENT, "units.json"]
    )
    assert list(units.inventories["phone"]) == list(PHONES)
    assert units.size("senone") == summary["senones"] == 200
    assert units.size("subword") == summary["subwords"] == 40
    assert json.loads((folder / "units.json").read_text())["key"] == units.key
    tree = units.senone_tree()
    for split, utterances in inputs.splits.items():
        frames = units.frames(split)
        assert frames.utt_ids.tolist() == [u.utt_id for u in utterances]
        assert frames.offsets[-1] == sum(u.n_frames for u in utterances)
        for u in utterances[:3]:
            labels = units.labels(split, u.utt_id)
            contexts = frame_contexts(inputs.phones[split][u.utt_id], u.n_frames)
            np.testing.assert_array_equal(labels["phone"], contexts[:, 0])
            expected = [tree.senone(PHONES[l], PHONES[p], PHONES[r], s) for p, s, l, r in contexts.tolist()]  # noqa: E741
            np.testing.assert_array_equal(labels["senone"], expected)
    measured = summary["measured"]
    assert measured["senones"]["frames"] == sum(u.n_frames for u in inputs.splits["train"])
    assert measured["lm_train"]["sentences"] == 400 and measured["lm_train"]["oov_words"] == 0
    lines = units.lm_text("phone", "dev").read_text().splitlines()
    assert len(lines) == len(inputs.splits["dev"]) and lines[0].startswith("SIL ")


def test_lm_text_uses_the_inventories(built):
    _, folder, _ = built
    units = load_units(folder)
    for unit in ("senone", "phone", "subword"):
        for part in ("train", "valid", "dev"):
            symbols = {s for line in units.lm_text(unit, part).read_text().splitlines() for s in line.split()}
            assert symbols <= set(units.inventories[unit]), (unit, part)


def test_build_is_deterministic(built, tmp_path):
    inputs, folder, _ = built
    build_units(inputs, tmp_path / "again", OPTIONS, progress=False)
    assert contents(tmp_path / "again") == contents(folder)


def test_finished_folder_is_returned_as_is(built):
    inputs, folder, summary = built
    assert build_units(inputs, folder, OPTIONS, progress=False) == summary


@pytest.mark.parametrize("crash_at", ["subwords", "frames_dev", "lm_valid"])
def test_a_crashed_build_resumes_to_the_same_folder(built, tmp_path, monkeypatch, crash_at):
    inputs, folder, _ = built
    original = build_module._Build._record

    def record(self, step, measured):
        original(self, step, measured)
        if step == crash_at:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(build_module._Build, "_record", record)
    with pytest.raises(KeyboardInterrupt):
        build_units(inputs, tmp_path / "units", OPTIONS, progress=False)
    assert not (tmp_path / "units" / "units.json").exists()
    monkeypatch.setattr(build_module._Build, "_record", original)
    summary = build_units(inputs, tmp_path / "units", OPTIONS, progress=False)
    assert contents(tmp_path / "units") == contents(folder)
    assert crash_at in summary["measured"]  # measured by the run that did the step
    assert not (tmp_path / "units" / ".build.json").exists()


def test_other_inputs_or_options_are_refused(built, tmp_path):
    inputs, folder, _ = built
    with pytest.raises(ValueError, match="other inputs or options"):
        build_units(inputs, folder, dataclasses.replace(OPTIONS, senones=201), progress=False)
    other = dataclasses.replace(inputs, identity={"test_inputs": "changed"})
    with pytest.raises(ValueError, match="built from other inputs"):
        load_units(folder, other)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(ValueError, match="not an empty folder"):
        build_units(inputs, tmp_path / "busy", OPTIONS, progress=False)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"senones": 100}, "--senones must be at least 123"),
        ({"subwords": 3}, "--subwords"),
        ({"min_leaf_frames": 0}, "--min-leaf-frames"),
        ({"dev_split": "dev-clean"}, "split 'dev-clean' is not in the corpus"),
    ],
)
def test_bad_options_fail_before_writing(built, tmp_path, change, message):
    inputs, _, _ = built
    with pytest.raises(ValueError, match=message):
        build_units(inputs, tmp_path / "units", dataclasses.replace(OPTIONS, **change), progress=False)
    assert not (tmp_path / "units").exists()


def test_bad_alignments_fail_before_writing(tmp_path):
    inputs = make_inputs(tmp_path / "inputs", utterances=(20, 3, 3))
    utt = inputs.splits["dev"][0].utt_id
    del inputs.words["dev"][utt]
    with pytest.raises(ValueError, match=f"no word alignment, e.g. {utt}"):
        build_units(inputs, tmp_path / "units", OPTIONS, progress=False)
    assert not (tmp_path / "units").exists()


def test_unknown_phone_names_the_utterance(tmp_path):
    inputs = make_inputs(tmp_path / "inputs", utterances=(20, 3, 3))
    utt = inputs.splits["train"][0].utt_id
    first = inputs.phones["train"][utt][1]
    inputs.phones["train"][utt][1] = dataclasses.replace(first, label="QQ")
    with pytest.raises(ValueError, match=f"train {utt}: 'QQ' is not a phone"):
        build_units(inputs, tmp_path / "units", OPTIONS, progress=False)


def test_lm_text_follows_the_audio_between_words(tmp_path):
    """Inputs with a pause at most word boundaries: the phone and senone LM text get silence between words, the
    subword LM text does not (its frames give pauses to the words)."""
    inputs = make_inputs(tmp_path / "inputs", utterances=(30, 10, 3), pause=0.9)
    summary = build_units(inputs, tmp_path / "units", OPTIONS, progress=False)
    silence = summary["word_silence"]
    assert silence["boundaries"] == sum(len(u.words) - 1 for u in inputs.splits["train"])
    assert silence["between_words"] and 0.5 < silence["share"] <= 1
    assert summary["measured"]["frames_train"]["pause_frames_in_subwords"] > 0
    words = len(inputs.splits["dev"][0].words)
    line = (tmp_path / "units" / "lm" / "phone.dev.txt").read_text().splitlines()[0]
    assert line.split().count("SIL") == words + 1
    line = (tmp_path / "units" / "lm" / "subword.dev.txt").read_text().splitlines()[0]
    assert line.split().count("<sil>") == 2


def test_word_spans_that_swallow_pauses_give_the_same_labels(tmp_path):
    """Word spans that start at the pause before them (as eSpeak's word events do) give the same frame labels:
    silence is read from the phones, pauses go to the nearest spoken frame."""
    inputs = make_inputs(tmp_path / "inputs", utterances=(30, 10, 3), pause=0.9)
    build_units(inputs, tmp_path / "plain", OPTIONS, progress=False)
    for split, alignments in inputs.words.items():
        for utt, words in alignments.items():
            pauses = {p.end: p.start for p in inputs.phones[split][utt] if p.label == "SIL"}
            alignments[utt] = [dataclasses.replace(w, start=pauses.get(w.start, w.start)) if i else w
                               for i, w in enumerate(words)]  # fmt: skip
    build_units(inputs, tmp_path / "swallowed", OPTIONS, progress=False)
    for split in inputs.splits:
        plain = (tmp_path / "plain" / "frames" / f"{split}.npz").read_bytes()
        assert (tmp_path / "swallowed" / "frames" / f"{split}.npz").read_bytes() == plain
