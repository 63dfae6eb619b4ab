"""``crossdistill data ...`` and ``crossdistill bench data`` end to end on tiny inputs."""

from __future__ import annotations

import json

from crossdistill.cli import main


def test_synth_then_info_then_features(tmp_path, capsys):
    out = tmp_path / "corpus"
    argv = ["data", "synth", "--out", str(out), "--preset", "tiny", "--speakers", "3"]
    assert main([*argv, "--utterances-per-speaker", "2", "--seed", "4", "--jobs", "2", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["utterances"] == {"train": 2, "valid": 2, "test": 2}
    assert summary["speakers"] == {"train": 1, "valid": 1, "test": 1}
    assert summary["alignments"] is True

    assert main(["data", "info", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["fingerprint"] == summary["fingerprint"]

    cache = tmp_path / "cache"
    assert main(["data", "features", str(out), "--n-mels", "80", "--cache-dir", str(cache)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cache"].startswith(str(cache)) and result["frames"]["train"] > 100


def test_user_errors_exit_2_with_a_clear_message(tmp_path, capsys):
    assert main(["data", "synth", "--out", str(tmp_path / "x"), "--preset", "nope"]) == 2
    assert "--preset 'nope' is unknown" in capsys.readouterr().err
    assert main(["data", "synth", "--out", str(tmp_path / "x"), "--preset", "tiny", "--speakers", "2"]) == 2
    assert "--speakers must be at least 3" in capsys.readouterr().err
    assert main(["data", "info", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bench_data_reports_both_numbers(capsys):
    argv = ["bench", "data", "--preset", "tiny", "--speakers", "1", "--utterances-per-speaker", "4"]
    assert main([*argv, "--feature-passes", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["utterances"] == 4
    assert result["synthesis_xrt"] > 0 and result["features_utt_per_s"] > 0
    assert result["synthesis_xrt_target"] == 300.0 and result["features_utt_per_s_target"] == 500.0
