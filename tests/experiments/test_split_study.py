"""``crossdistill split-study`` end to end at toy size: an unseen-utterance corpus trains teachers and a student."""

from __future__ import annotations

import json

from crossdistill.data.corpus import load_corpus
from crossdistill.experiments.setup import SetupSettings
from crossdistill.experiments.split_study import run_split_study

TINY = SetupSettings(corpus_preset="tiny", student_preset="tiny", pretrain_epochs=1, teacher_arch="scratch",
                     teacher_epochs=1, jobs=1, threads=1)  # fmt: skip


def test_unseen_utterance_corpus_trains_teachers_and_a_student_for_one_epoch(mini_grid, tmp_path):
    out = tmp_path / "study"
    summary = run_split_study(out, TINY, ("unseen-utterance",), (0,), ("scratch", "transformer"), mini_grid,
                              ("epochs=1",), other_teacher_epochs=1)  # fmt: skip
    corpus = load_corpus(out / "unseen-utterance" / "corpus")
    said = {split: {u.transcription for u in utts} for split, utts in corpus.splits.items()}
    assert said["test"] and not said["test"] & said["train"]
    result = summary["results"]["unseen-utterance"]
    assert set(result["teachers"]) == {"scratch", "transformer"}
    assert (out / "unseen-utterance" / "teacher-transformer" / "model.safetensors").is_file()
    metrics = json.loads((out / "unseen-utterance" / "vanilla" / "vanilla" / "seed0" / "metrics.json").read_text())
    assert [record["epoch"] for record in metrics["history"]] == [1]
    assert result["vanilla_test_error_pct"]["per_seed"] == {0: 100 * metrics["test_error"]}
    report = (out / "split_study.md").read_text()
    assert "| unseen-utterance | transformer |" in report and "| unseen-utterance | " in report.split("Vanilla")[1]
    assert json.loads((out / "split_study.json").read_text())["results"]["unseen-utterance"]["corpus"].endswith(
        "corpus"
    )


def test_benchmark_and_split_study_commands_pass_the_split_on(monkeypatch, tmp_path):
    import crossdistill.experiments.benchmark as benchmark
    import crossdistill.experiments.split_study as split_study
    from crossdistill.cli import main

    calls = {}
    monkeypatch.setattr(benchmark, "run_benchmark", lambda out, settings, *a, **kw: calls.update(bench=settings))
    monkeypatch.setattr(split_study, "run_split_study", lambda out, settings, splits, *a, **kw: calls.update(
        study=(settings, splits)))  # fmt: skip
    assert main(["benchmark", "--out", str(tmp_path / "b"), "--split", "unseen-utterance", "--seeds", "0"]) == 0
    assert calls["bench"].corpus_split == "unseen-utterance"
    assert main(["split-study", "--out", str(tmp_path / "s"), "--splits", "random,unseen-speaker"]) == 0
    assert calls["study"][1] == ("random", "unseen-speaker")


def test_bad_splits_and_teachers_are_refused_before_any_work(tmp_path, capsys):
    from crossdistill.cli import main

    assert main(["split-study", "--out", str(tmp_path / "s"), "--splits", "random,unseen"]) == 2
    assert "--splits 'unseen' is unknown; choose one of random, unseen-utterance, unseen-speaker" in (
        capsys.readouterr().err
    )
    assert main(["split-study", "--out", str(tmp_path / "s"), "--teachers", "scratch"]) == 2
    assert "--teachers must include transformer" in capsys.readouterr().err
    assert main(["split-study", "--out", str(tmp_path / "s"), "--grid", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml does not exist" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
