"""Augmentation options: parsing, checks with the argument named, and which factors give copies."""

from __future__ import annotations

import pytest

from crossdistill.data.augment.options import (
    AugmentOptions,
    parse_snr_range,
    parse_speeds,
    speed_key,
    speed_prefix,
)


def test_parsing_speeds_and_snr_ranges():
    assert parse_speeds("0.9,1.0,1.1") == (0.9, 1.0, 1.1)
    assert parse_speeds("1.1, 0.95") == (1.1, 0.95)
    assert parse_snr_range("0:20") == (0.0, 20.0)
    assert parse_snr_range("-5:5") == (-5.0, 5.0)
    assert parse_snr_range("10") == (10.0, 10.0)
    with pytest.raises(ValueError, match="--speed takes comma-separated numbers"):
        parse_speeds("fast")
    for bad in ("a:b", "1:2:3", ""):
        with pytest.raises(ValueError, match="--noise-snr takes LOW:HIGH"):
            parse_snr_range(bad)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"speeds": (0.0, 1.1)}, "--speed factors must be positive"),
        ({"speeds": (-0.9,)}, "--speed factors must be positive"),
        ({"speeds": (float("nan"),)}, "--speed factors must be positive"),
        ({"speeds": ()}, "--speed needs at least one factor"),
        ({"speeds": (0.9, 0.9000)}, "--speed lists a factor twice"),
        ({"speeds": (0.9125,)}, "more than 3 decimals"),
        ({"noise_snr_db": (20.0, 5.0)}, r"--noise-snr 20:5 is reversed"),
        ({"noise_snr_db": (0.0, float("inf"))}, "--noise-snr must be finite"),
        ({"reverb": 1.5}, r"--reverb is a probability in \[0, 1\]"),
        ({"reverb": -0.1}, r"--reverb is a probability"),
        ({"rooms": 0}, "--rooms must be at least 1"),
        ({"speeds": (1.0,)}, "nothing to augment"),
    ],
)
def test_bad_options_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AugmentOptions(**kwargs)


def test_factor_one_gives_a_copy_only_when_the_signal_changes():
    assert AugmentOptions().copy_speeds() == (0.9, 1.1)
    assert AugmentOptions(speeds=(1.1, 1.0, 0.9), noise_snr_db=(0, 20)).copy_speeds() == (0.9, 1.0, 1.1)
    assert AugmentOptions(speeds=(1.0,), reverb=0.5).copy_speeds() == (1.0,)
    assert AugmentOptions(speeds=(1.0,), noise_snr_db=(10, 10)).copy_speeds() == (1.0,)


def test_prefixes_and_keys_follow_kaldi():
    assert [speed_prefix(s) for s in (0.9, 1.0, 1.1, 1.25, 0.95)] == [
        "sp0.9-",
        "sp1.0-",
        "sp1.1-",
        "sp1.25-",
        "sp0.95-",
    ]
    assert [speed_key(s) for s in (0.9, 1.0, 1.1, 1.25)] == [900, 1000, 1100, 1250]


def test_options_record_as_plain_json():
    options = AugmentOptions(speeds=(0.9, 1.1), noise_snr_db=(0, 20), reverb=0.25, rooms=7, seed=3)
    assert options.to_dict() == {"speeds": [0.9, 1.1], "noise_snr_db": [0.0, 20.0], "reverb": 0.25, "rooms": 7,
                                 "seed": 3}  # fmt: skip
