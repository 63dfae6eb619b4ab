"""``crossdistill asr data ...`` and ``crossdistill bench asr-data`` end to end on the tiny preset."""

from __future__ import annotations

import json

from crossdistill.cli import main
from crossdistill.data.asr.synth import get_preset


def test_synth_then_info_then_features(tmp_path, capsys):
    out = tmp_path / "corpus"
    assert main(["asr", "data", "synth", "--out", str(out), "--preset", "tiny", "--jobs", "2", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "synthetic" and summary["synthesis"]["dropped_utterances"] == 0
    assert {s: v["speakers"] for s, v in summary["splits"].items()} == {"train": 4, "dev": 1, "test": 1}
    assert {s: v["utterances"] for s, v in summary["splits"].items()} == {"train": 20, "dev": 5, "test": 5}
    assert all(v["alignments"] and v["oov_rate"] == 0 and v["hours"] > 0 for v in summary["splits"].values())
    assert summary["lm_text"]["words"] > 1000 and summary["lm_text"]["oov_rate"] == 0

    assert main(["asr", "data", "info", str(out), "--decode", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["fingerprint"] == summary["fingerprint"]

    cache = tmp_path / "cache"
    assert main(["asr", "data", "features", str(out), "--cache-dir", str(cache), "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cache"].startswith(str(cache)) and result["utterances"] == {"train": 20, "dev": 5, "test": 5}
    seconds = {s: v["hours"] * 3600 for s, v in summary["splits"].items()}
    for split, frames in result["frames"].items():  # 100 frames per second, give or take the rounding of hours
        assert abs(frames - 100 * seconds[split]) < 100 * 0.2 + result["utterances"][split]


def test_user_errors_exit_2_naming_the_problem(tmp_path, capsys):
    assert main(["asr", "data", "synth", "--out", str(tmp_path / "x"), "--preset", "huge"]) == 2
    assert "--preset 'huge' is unknown" in capsys.readouterr().err
    assert main(["asr", "data", "info", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "dev-clean" / "1" / "2").mkdir(parents=True)
    (tmp_path / "dev-clean" / "1" / "2" / "1-2.trans.txt").write_text("1-2-0000 HELLO\n")
    assert main(["asr", "data", "info", str(tmp_path), "--quiet"]) == 2
    assert "1-2.trans.txt, line 1: 1-2-0000 has no audio" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_bench_asr_data_reports_every_figure(capsys):
    assert main(["bench", "asr-data", "--preset", "tiny"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["utterances"] == 30 and result["train_hours"] > 0 and result["lm_words"] > 1000
    assert result["synthesis_xrt"] > 0 and result["synthesis_xrt_cpu"] > 0 and result["features_utt_per_s"] > 0
    assert result["synthesis_xrt_target"] == 300.0
    default = get_preset("default")
    assert result["default_estimate"]["extrapolated"] is True
    assert result["default_estimate"]["utterances"] == sum(default.speakers.values()) * default.utterances_per_speaker
