"""``crossdistill asr engine-study``: tiny end to end (eSpeak-only and augmented settings, one seed), both test sets
decoded with the weights tuned on dev, a second call redoes nothing; refusals before any work; the report's ratio."""

from __future__ import annotations

import json

import pytest

from crossdistill.cli import main
from crossdistill.data.asr.word_lm import kenlm_available
from crossdistill.data.corpus import UNSEEN_ENGINE_TEST
from crossdistill.data.engines import installed_engines
from crossdistill.experiments.asr.engine_study import (
    AsrEngineStudySettings,
    format_asr_engine_study,
    summarize_setting,
    wer_by_voice,
)
from crossdistill.experiments.asr.table1 import Table1Run

TOY = ["--senones", "150", "--subwords", "100", "--min-leaf-frames", "20", "--augmented-epochs", "1",
       "model.d_model=32", "model.num_layers=1", "model.num_heads=2", "model.ff_dim=64", "model.conv_channels=4",
       "batch_size=4", "eval_batch_size=8", "epochs=2", "warmup_steps=5", "trainer.accelerator=cpu"]  # fmt: skip


@pytest.mark.skipif(
    not {"flite", "festival"} <= set(installed_engines()) or not kenlm_available(),
    reason="needs flite, festival (scripts/install-system-packages.sh) and KenLM's lmplz",
)
def test_the_study_runs_on_tiny_corpora_and_resumes(tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["asr", "engine-study", "--out", str(out), "--preset", "tiny", "--seeds", "0", "--jobs", "1",
            "--settings", "espeak,all+augment", *TOY]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((out / "asr_engine_study.json").read_text())
    espeak, augmented = summary["results"]["espeak"], summary["results"]["all+augment"]
    assert espeak["engines_in_training"] == ["espeak"] and augmented["engines_in_training"] == ["espeak", "flite"]
    assert (
        augmented["training_utterances"]
        == 4 * json.loads((out / "corpora" / "all" / "corpus.json").read_text())["counts"]["train"]["utterances"]
    )  # fmt: skip  (3-way speed and a noisy copy at 1.0)
    assert espeak["epochs"] == {"0": 2} and augmented["epochs"] == {"0": 1}
    for setting in ("espeak", "all+augment"):
        run = out / setting / "runs" / "baseline" / "seed0"
        test = json.loads((run / "decode" / "test.json").read_text())
        held = json.loads((run / "decode" / f"{UNSEEN_ENGINE_TEST}.json").read_text())
        assert test["tuning"]["split"] == "dev" and held["tuning"] is None  # no test set tunes anything
        assert {k: held["search"][k] for k in ("lm_weight", "word_score")} == summary["results"][setting]["tuned"]["0"]
        assert summary["results"][setting]["wer_pct"][UNSEEN_ENGINE_TEST]["per_seed"]["0"] == 100 * held["wer"]
        metrics = json.loads((run / "metrics.json").read_text())
        assert set(metrics["extra_test_frame_accuracy"]) == {UNSEEN_ENGINE_TEST}
    assert all(voice.startswith("festival:") for voice in espeak["wer_by_voice"][UNSEEN_ENGINE_TEST])
    assert set(espeak["wer_by_voice"]["test"]) == {"espeak"}
    report = (out / "asr_engine_study.md").read_text()
    assert "WER by who speaks" in report
    assert "| espeak | espeak | 20 | 2 |" in report and "| all+augment | espeak, flite | 80 | 1 |" in report

    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.suffix in (".json", ".flac", ".safetensors")
              and p.name not in ("asr_engine_study.json", "table1.json")}  # fmt: skip
    capsys.readouterr()
    assert main(argv) == 0
    assert "1 runs, 1 finished, 0 to do" in capsys.readouterr().out
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--settings", "espeak,mbrola"], "--settings must list distinct names"),
        (["--held-out-engine", "espeak"], "--held-out-engine must be one of"),
        (["--seeds", "1,1"], "--seeds must list distinct integers"),
        (["--augmented-epochs", "0"], "--augmented-epochs must be >= 1"),
        (["--corpus", "."], "synthesizes its own corpora"),
        (["--preset", "huge"], "--preset 'huge' is unknown"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, capsys, arguments, message):
    out = tmp_path / "study"
    assert main(["asr", "engine-study", "--out", str(out), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_the_held_out_engine_must_be_installed(tmp_path, monkeypatch):
    from crossdistill.data.engines import festival
    from crossdistill.experiments.asr.engine_study import run_asr_engine_study

    monkeypatch.setattr(festival, "program", lambda: None)
    with pytest.raises(ValueError, match="--held-out-engine festival is not installed here"):
        run_asr_engine_study(tmp_path / "study", AsrEngineStudySettings())
    assert not (tmp_path / "study").exists()


def _decoded(wer: float) -> dict:
    return {"wer": wer, "search": {"lm_weight": 4.0, "word_score": 0.0}}


def test_the_summary_gives_wer_per_test_set_its_ratio_and_the_goal(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    counts = {split: {"utterances": n} for split, n in (("train", 600), ("test", 204), (UNSEEN_ENGINE_TEST, 204))}
    voices = {"train": ["en-us+m3", "flite:kal"], "test": ["flite:awb"], UNSEEN_ENGINE_TEST: ["festival:ked_diphone"]}
    (corpus / "corpus.json").write_text(json.dumps({"counts": counts, "voices_per_split": voices}))
    metrics = {"epochs": 5, "test_frame_accuracy": 0.3, "extra_test_frame_accuracy": {UNSEEN_ENGINE_TEST: 0.2}}
    wers = {0: (0.30, 0.70), 1: (0.40, 0.80), 2: (0.20, 0.60)}
    reports = {seed: {"test": _decoded(a), UNSEEN_ENGINE_TEST: _decoded(b), "metrics": metrics}
               for seed, (a, b) in wers.items()}  # fmt: skip
    result = summarize_setting(corpus, reports, "festival")
    assert result["engines_in_training"] == ["espeak", "flite"]
    assert result["wer_pct"]["test"]["mean"] == pytest.approx(30.0)
    assert result["wer_pct"][UNSEEN_ENGINE_TEST]["mean"] == pytest.approx(70.0)
    assert result["ratio_of_means"] == pytest.approx(70 / 30) and result["meets_goal"] is False
    assert result["gap_test"]["differences_pp"] == pytest.approx([40.0, 40.0, 40.0])
    summary = {"settings": json.loads(json.dumps(__import__("dataclasses").asdict(AsrEngineStudySettings()))),
               "augmentation": {"noise_snr_db": [10.0, 30.0], "reverb": 0.3}, "goal_ratio": 2.0,
               "results": {"all": result}, "comparisons": []}  # fmt: skip
    report = format_asr_engine_study(summary)
    assert "| all | espeak, flite | 600 | 5 | 30.00 ± 10.00 % | 70.00 ± 10.00 % | 2.33 | no |" in report
    assert "seed 0: 30.00 / 70.00 (30.0 % / 20.0 %)" in report


def test_wer_by_voice_pools_each_voices_utterances_per_run_then_averages_runs(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    speakers = {"test": [{"speaker": 1010, "voice": "en-us+m3"}, {"speaker": 1011, "engine": "flite", "voice": "awb"}],
                UNSEEN_ENGINE_TEST: [{"speaker": 1012, "engine": "festival", "voice": "kal_diphone"}]}  # fmt: skip
    (corpus / "corpus.json").write_text(json.dumps({"speakers": speakers}))

    def row(utt: str, words: int, errors: int) -> str:
        reference = " ".join(["W"] * words)
        return json.dumps({"utt_id": utt, "reference": reference, "substitutions": errors, "deletions": 0,
                           "insertions": 0}) + "\n"  # fmt: skip

    runs = []
    for seed, flite_errors in ((0, 1), (1, 3)):
        run = Table1Run("baseline", seed, tmp_path / f"seed{seed}")
        (run.out / "decode").mkdir(parents=True)
        (run.out / "decode" / "test.utterances.jsonl").write_text(
            row("1010-1-0000", 4, 1) + row("1010-1-0001", 6, 0) + row("1011-1-0000", 5, flite_errors)
        )
        (run.out / "decode" / f"{UNSEEN_ENGINE_TEST}.utterances.jsonl").write_text(row("1012-1-0000", 5, 5))
        runs.append(run)
    result = wer_by_voice(corpus, runs)
    assert result["test"] == {"espeak": {"wer_pct": pytest.approx(10.0), "words": 10},
                              "flite:awb": {"wer_pct": pytest.approx(40.0), "words": 5}}  # fmt: skip
    assert result[UNSEEN_ENGINE_TEST] == {"festival:kal_diphone": {"wer_pct": pytest.approx(100.0), "words": 5}}
