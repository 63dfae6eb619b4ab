"""The vanilla-student pieces shared by split-study and engine-study."""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from crossdistill.experiments.vanilla_runs import VANILLA_CELL, summarize_seeds, vanilla_grid_config


def test_the_derived_grid_keeps_the_base_and_the_vanilla_cell_only(mini_grid, tmp_path):
    derived = OmegaConf.load(vanilla_grid_config(mini_grid, tmp_path / "derived.yaml"))
    assert list(derived.cells) == [VANILLA_CELL] and derived.cells.vanilla.endswith("table1/vanilla.yaml")
    assert derived.base == OmegaConf.load(mini_grid).base
    (tmp_path / "none.yaml").write_text("cells:\n  decay: decay.yaml\n")
    with pytest.raises(ValueError, match=r"none\.yaml: no 'vanilla' cell"):
        vanilla_grid_config(tmp_path / "none.yaml", tmp_path / "derived.yaml")


def test_seed_summaries_give_the_sample_std_and_nan_for_one_seed():
    summary = summarize_seeds({0: 10.0, 1: 12.0, 2: 14.0})
    assert summary["mean"] == 12.0 and summary["std"] == 2.0 and summary["per_seed"] == {0: 10.0, 1: 12.0, 2: 14.0}
    assert math.isnan(summarize_seeds({3: 5.0})["std"])
