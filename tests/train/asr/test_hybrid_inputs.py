"""Bad inputs of a hybrid AM run: clear errors naming the file or key, before the run folder is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossdistill.data.asr.features import PackedFeatures
from crossdistill.data.asr.units import UnitsOptions, build_units, units_inputs
from crossdistill.train.asr.hybrid import load_config, load_trained_hybrid, train
from crossdistill.train.asr.hybrid_inputs import check_frame_counts, open_hybrid_inputs

CONFIGS = Path(__file__).parents[3] / "configs" / "asr" / "hybrid"


@pytest.fixture(scope="module")
def other_units(asr_pipeline, tmp_path_factory) -> Path:
    """A second units folder of the same corpus with another senone inventory (other frame labels)."""
    out = tmp_path_factory.mktemp("other_units") / "units"
    inputs = units_inputs(asr_pipeline.corpus, features_cache=asr_pipeline.features_cache, progress=False)
    build_units(inputs, out, UnitsOptions(senones=130, subwords=100, min_leaf_frames=20), progress=False)
    return out


@pytest.fixture(scope="module")
def baseline_run(asr_pipeline, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("baseline") / "run"
    train(load_config(CONFIGS / "baseline.yaml", asr_pipeline.hybrid_overrides(out, epochs=1)))
    return out


def refused(asr_pipeline, tmp_path, cell: str, error: type[Exception], message: str, **extra) -> None:
    out = tmp_path / "run"
    with pytest.raises(error, match=message):
        train(load_config(CONFIGS / f"{cell}.yaml", asr_pipeline.hybrid_overrides(out, **extra)))
    assert not out.exists()


def test_a_cache_made_by_another_lm_is_refused(asr_pipeline, tmp_path):
    subword_cache = next((asr_pipeline.lms / "subword" / "posteriors").iterdir())
    refused(asr_pipeline, tmp_path, "phone", ValueError, "made from another LM",
            **{"teachers.phone.posteriors": subword_cache})  # fmt: skip


def test_an_lm_over_another_unit_is_refused(asr_pipeline, tmp_path):
    refused(asr_pipeline, tmp_path, "phone", ValueError, r"is an LM over subwords, not phones",
            **{"teachers.phone.lm": asr_pipeline.lms / "subword"})  # fmt: skip


def test_a_missing_lm_folder_is_named(asr_pipeline, tmp_path):
    refused(asr_pipeline, tmp_path, "subword", FileNotFoundError, r"teachers\.subword\.lm: LM folder .*nowhere",
            **{"teachers.subword.lm": tmp_path / "nowhere"})  # fmt: skip


def test_a_cache_made_for_other_alignments_is_refused(asr_pipeline, other_units, tmp_path):
    # The phone LM fits any units folder's phones, but its cache was made from the first folder's frame labels.
    refused(asr_pipeline, tmp_path, "phone", FileNotFoundError, "no posterior cache .* was made by this LM for units",
            units=other_units)  # fmt: skip
    # The senone LM was trained on another senone inventory.
    message = r"senone\.txt has 130 senones but the LM was trained on 150"
    refused(asr_pipeline, tmp_path, "senone", ValueError, message, units=other_units)


def test_a_model_with_another_senone_inventory_is_refused(asr_pipeline, other_units, baseline_run, tmp_path):
    assert load_trained_hybrid(baseline_run, asr_pipeline.units).units_key
    with pytest.raises(ValueError, match=r"senone inventory of units folder .* is not the model's"):
        load_trained_hybrid(baseline_run, other_units)
    # A run folder trained on one units folder is not continued (or returned) with another one.
    overrides = asr_pipeline.hybrid_overrides(baseline_run, epochs=1, units=other_units)
    before = {p: p.stat().st_mtime_ns for p in baseline_run.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match=r"other settings \(inputs\.units differ\)"):
        train(load_config(CONFIGS / "baseline.yaml", overrides))
    assert {p: p.stat().st_mtime_ns for p in baseline_run.rglob("*") if p.is_file()} == before


def test_splits_missing_from_the_corpus_are_named(asr_pipeline, tmp_path):
    refused(asr_pipeline, tmp_path, "baseline", ValueError, r"splits\.test='eval'", **{"splits.test": "eval"})


def test_features_of_another_length_are_named(asr_pipeline, tmp_path):
    config = load_config(CONFIGS / "phone.yaml", asr_pipeline.hybrid_overrides(tmp_path / "run"))
    inputs = open_hybrid_inputs(config, progress=False)
    packed = inputs.features["dev"]
    offsets = packed.offsets.copy()
    offsets[2:] -= 1  # the second dev utterance loses a frame
    inputs.features["dev"] = PackedFeatures(packed.utt_ids, offsets, packed.features)
    with pytest.raises(ValueError, match=f"fbank features of split 'dev' gives utterance {packed.utt_ids[1]} "):
        check_frame_counts(inputs, "dev")
    # And a posterior cache whose segments cover another frame count.
    inputs.features["dev"] = packed
    posteriors = inputs.teachers["phone"].split("dev")
    posteriors.segment_lengths = posteriors.segment_lengths.clone()
    posteriors.segment_lengths[0] += 1
    with pytest.raises(ValueError, match=f"phone posterior cache .* gives utterance {packed.utt_ids[0]} "):
        check_frame_counts(inputs, "dev")
