"""``crossdistill data augment`` end to end on the tiny corpus, and its user errors."""

from __future__ import annotations

import json

from crossdistill.cli import main
from crossdistill.data.corpus import load_corpus


def test_augment_prints_a_summary_and_the_corpus_loads(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "augmented"
    argv = ["data", "augment", "--corpus", str(tiny_corpus), "--out", str(out), "--speed", "0.9,1.0,1.1"]
    assert main([*argv, "--noise-snr=-5:20", "--reverb", "0.5", "--rooms", "2", "--seed", "2", "--jobs", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["copies"] == {"0.9": 16, "1.0": 16, "1.1": 16} and summary["layout"] == "fsc"
    assert 0 < summary["reverberated"] < 48
    assert len(load_corpus(out).splits["train"]) == 64
    assert main(["data", "info", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["utterances"] == {"train": 64, "valid": 4, "test": 4}


def test_user_errors_exit_2_naming_the_argument(tiny_corpus, tmp_path, capsys):
    base = ["data", "augment", "--corpus", str(tiny_corpus), "--out", str(tmp_path / "x")]
    for extra, message in [
        (["--speed", "0,1.1"], "--speed factors must be positive"),
        (["--speed", "fast"], "--speed takes comma-separated numbers"),
        (["--noise-snr", "20:0"], "--noise-snr 20:0 is reversed"),
        (["--reverb", "2"], "--reverb is a probability"),
        (["--speed", "1.0"], "nothing to augment"),
    ]:
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    assert main(["data", "augment", "--corpus", str(tmp_path / "none"), "--out", str(tmp_path / "y")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
