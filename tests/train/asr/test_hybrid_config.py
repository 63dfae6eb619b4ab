"""The hybrid recipe's config: one YAML per Table 1 cell, typed keys, and clear errors before anything is written."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from crossdistill.train.asr.hybrid_config import LM_UNITS, load_config, settings_identity
from crossdistill.train.asr.recipes import read_recipe, recipe_module

CONFIGS = Path(__file__).parents[3] / "configs" / "asr" / "hybrid"
REQUIRED = ["corpus=C", "units=U", "out=O", "lms=L"]


def test_one_config_per_subset_of_the_three_lms():
    subsets = {frozenset(c) for n in range(4) for c in itertools.combinations(LM_UNITS, n)}
    found = {}
    for path in sorted(CONFIGS.glob("*.yaml")):
        config = load_config(path, REQUIRED)
        assert read_recipe(path) == "hybrid" and config.recipe == "hybrid"
        # The file is named after its subset: baseline, all, or the units joined by "_" in Table 1's order.
        expected = [] if path.stem == "baseline" else list(LM_UNITS) if path.stem == "all" else path.stem.split("_")
        assert list(config.distill) == expected, path
        found[frozenset(config.distill)] = path.stem
    assert set(found) == subsets and len(list(CONFIGS.glob("*.yaml"))) == 8


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["distill=[phone,word]"], r"unknown LM unit\(s\) \['word'\]"),
        (["distill=[phone,phone]"], "names a unit twice"),
        (["teachers.word.weight=1"], "word"),
        (["teachers.phone.weight=0"], r"teachers.phone.weight \(lambda\) must be > 0"),
        (["teachers.phone.temperature=-1"], "teachers.phone.temperature must be > 0"),
        (["epochs=0"], "epochs must be >= 1"),
        (["model.d_model=30", "model.num_heads=4"], "divisible"),
        (["model.conv_kernel=4"], "odd"),
        (["specaugment.p=2"], "specaugment"),
        (["splits.dev=train"], "must differ"),
        (["lr=fast"], r"\(key lr\)"),
        (["recipe=seq2seq"], "recipe must be 'hybrid'"),
    ],
)
def test_bad_settings_name_the_key(overrides, message):
    with pytest.raises(ValueError, match=message):
        load_config(CONFIGS / "phone.yaml", REQUIRED + overrides)


def test_missing_locations_are_named():
    with pytest.raises(ValueError, match=r"lacks \['corpus', 'out', 'units'\]"):
        load_config(CONFIGS / "baseline.yaml", [])
    with pytest.raises(ValueError, match=r"neither teachers\.phone\.lm nor lms"):
        load_config(CONFIGS / "phone.yaml", REQUIRED[:3])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_config(CONFIGS / "nope.yaml", REQUIRED)


def test_locations_and_execution_settings_are_not_part_of_a_runs_identity():
    base = settings_identity(load_config(CONFIGS / "phone.yaml", REQUIRED))
    elsewhere = ["corpus=C2", "units=U2", "out=O2", "lms=L2", "threads=1", "trainer.progress_bar=false",
                 "teachers.phone.posteriors=P"]  # fmt: skip
    moved = load_config(CONFIGS / "phone.yaml", elsewhere)
    assert settings_identity(moved) == base
    for change in ("teachers.phone.weight=0.5", "seed=1", "model.d_model=64", "specaugment.enabled=false"):
        assert settings_identity(load_config(CONFIGS / "phone.yaml", [*REQUIRED, change])) != base, change
    # A teacher that is not distilled does not count.
    assert settings_identity(load_config(CONFIGS / "phone.yaml", [*REQUIRED, "teachers.subword.weight=3"])) == base


def test_recipes_are_found_by_name(tmp_path):
    assert recipe_module("hybrid").__name__ == "crossdistill.train.asr.hybrid"
    with pytest.raises(ValueError, match="unknown recipe 'nope'"):
        recipe_module("nope")
    no_recipe = tmp_path / "x.yaml"
    no_recipe.write_text("distill: []\n")
    with pytest.raises(ValueError, match="names no recipe"):
        read_recipe(no_recipe)
