from dataclasses import dataclass

import pytest
from omegaconf import MISSING, OmegaConf

from crossdistill.common.config import drop_when_off, load_structured_config, pop_dotted, settings_without


@dataclass
class Schema:
    out: str = MISSING
    epochs: int = 3


def test_file_then_overrides_and_errors_that_name_the_key(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("epochs: 5\nout: a\n")
    assert load_structured_config(Schema, path, ["out=b"], ("out",), "run config") == {"out": "b", "epochs": 5}
    with pytest.raises(ValueError, match=r"run config lacks \['out'\]"):
        load_structured_config(Schema, None, [], ("out",), "run config")
    with pytest.raises(ValueError, match=r"bad run config.*epoks"):
        load_structured_config(Schema, None, ["epoks=2"], ("out",), "run config")
    with pytest.raises(ValueError, match=r"bad run config in .*run\.yaml"):
        path.write_text("epochs: many\n")
        load_structured_config(Schema, path, [], ("out",), "run config")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_structured_config(Schema, tmp_path / "missing.yaml", [], (), "run config")


def test_settings_without_drops_the_execution_keys_and_leaves_the_config_alone():
    config = OmegaConf.create({"out": "a", "lr": 0.1, "x": "${lr}", "trainer": {"progress_bar": True, "devices": 2}})
    plain = settings_without(config, ("out", "threads"), ("progress_bar",))
    assert plain == {"lr": 0.1, "x": 0.1, "trainer": {"devices": 2}}  # resolved, and absent keys are no error
    assert config.out == "a" and config.trainer.progress_bar is True


def test_an_option_that_is_off_leaves_the_identity_of_a_run_made_before_it_existed():
    older = {"lr": 0.1, "decode": {"beam": 4}}  # a run made before frame_weight and decode.ctc_weight existed
    for frame_weight, ctc_weight in ((0.0, 0.0), (None, None)):
        newer = {
            "lr": 0.1,
            "frame_weight": frame_weight,
            "frame_unit": "phone",
            "decode": {"beam": 4, "ctc_weight": ctc_weight},
        }
        drop_when_off(newer, "frame_weight", ["frame_weight", "frame_unit"])
        drop_when_off(newer, "decode.ctc_weight", ["decode.ctc_weight"])
        assert newer == older
    used = {"frame_weight": 0.5, "frame_unit": "phone", "specaugment": None}
    drop_when_off(used, "frame_weight", ["frame_weight", "frame_unit"])
    drop_when_off(used, "specaugment.enabled", ["specaugment"])  # a missing parent counts as off
    assert used == {"frame_weight": 0.5, "frame_unit": "phone"}
    plain = {"a": {"b": 1, "c": 2}}
    pop_dotted(plain, "a.b")
    pop_dotted(plain, "x.y")  # absent: nothing to do
    assert plain == {"a": {"c": 2}}
