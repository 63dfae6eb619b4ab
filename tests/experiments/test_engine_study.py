"""``crossdistill engine-study`` (issue 15 item 5): end to end at toy size, the refusals, the report's arithmetic."""

from __future__ import annotations

import json
import math

import pytest

from crossdistill.data.corpus import UNSEEN_ENGINE_TEST, load_corpus
from crossdistill.data.engines import installed_engines
from crossdistill.experiments import engine_study
from crossdistill.experiments.engine_study import (
    ALL_AUGMENTED,
    SETTINGS,
    check_engine_study,
    compare_settings,
    format_engine_study,
    run_engine_study,
)
from crossdistill.experiments.setup import SetupSettings
from crossdistill.experiments.significance import seed_test

TINY = SetupSettings(corpus_preset="tiny", student_preset="tiny", pretrain_epochs=1, jobs=1, threads=1)
HAS_FESTIVAL = "festival" in installed_engines()


def _engines_of(corpus) -> dict[str, set[str]]:
    engine_of = {s["speaker_id"]: s.get("engine", "espeak") for s in corpus.metadata["speakers"]}
    return {split: {engine_of[u.speaker_id.split("-", 1)[-1]] for u in utts} for split, utts in corpus.splits.items()}


@pytest.mark.skipif(not HAS_FESTIVAL, reason="festival is not installed (scripts/install-system-packages.sh)")
def test_settings_train_and_score_both_test_sets_and_resume(mini_grid, tmp_path):
    out, names = tmp_path / "study", ("espeak", ALL_AUGMENTED)  # the augmented setting synthesizes `all` first
    summary = run_engine_study(out, TINY, names, "festival", (0,), mini_grid, ("epochs=1",))

    others = {name for name in installed_engines() if name != "festival"}
    plain = load_corpus(out / ALL_AUGMENTED / "corpus")
    augmented = load_corpus(out / ALL_AUGMENTED / "corpus-augmented")
    espeak_only = _engines_of(load_corpus(out / "espeak" / "corpus"))
    assert espeak_only["train"] == espeak_only["valid"] == {"espeak"} and espeak_only[UNSEEN_ENGINE_TEST] == {
        "festival"
    }
    assert _engines_of(plain)["train"] | _engines_of(plain)["test"] <= others
    assert _engines_of(augmented)[UNSEEN_ENGINE_TEST] == {"festival"}
    # 3-way speed perturbation with noise: copies at 0.9, 1.0 and 1.1 beside every original
    assert len(augmented.splits["train"]) == 4 * len(plain.splits["train"])
    assert augmented.splits[UNSEEN_ENGINE_TEST] and not (out / "espeak" / "teacher").exists()

    for name in names:
        run = out / name / "vanilla" / "vanilla" / "seed0"
        metrics = json.loads((run / "metrics.json").read_text())
        result = summary["results"][name]["error_pct"]
        assert result["test"]["per_seed"][0] == pytest.approx(100 * metrics["test_error"])
        unseen = json.loads((run / "evaluation" / f"{UNSEEN_ENGINE_TEST}.json").read_text())
        assert unseen["utterances"] == len(load_corpus(summary["results"][name]["corpus"]).splits[UNSEEN_ENGINE_TEST])
        assert result[UNSEEN_ENGINE_TEST]["per_seed"][0] == pytest.approx(100 * unseen["intent_error"])
    report = (out / "engine_study.md").read_text()
    assert all(f"| {name} |" in report for name in names) and "| all+augment − espeak | test_unseen_engine |" in report

    rewritten = ("engine_study.json", "engine_study.md", "grid.yaml", "grid.json")  # reports and the grid's plan
    finished = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name not in rewritten}
    again = run_engine_study(out, TINY, names, "festival", (0,), mini_grid, ("epochs=1",))
    assert json.dumps(again["results"]) == json.dumps(summary["results"])  # json: a one-seed std is NaN
    assert {p: p.stat().st_mtime_ns for p in finished} == finished  # nothing retrained, resynthesized or rescored


@pytest.mark.parametrize(
    ("names", "held_out", "seeds", "message"),
    [
        (("espeak", "flite-only"), "festival", (0,), "--settings must list distinct names"),
        (("all", "all"), "festival", (0,), "--settings must list distinct names"),
        (("all",), "espeak", (0,), "--held-out-engine must be one of flite, festival"),
        (("all",), "mbrola", (0,), "--held-out-engine must be one of"),
        (("all",), "festival", (1, 1), "--seeds must list distinct"),
        (("all",), "festival", (0,), "--augmented-pretrain-epochs must be >= 1"),
    ],
)
def test_bad_arguments_are_refused(names, held_out, seeds, message, monkeypatch):
    monkeypatch.setattr("crossdistill.data.engines.installed_engines", lambda: ("espeak", "flite", "festival"))
    with pytest.raises(ValueError, match=message):
        check_engine_study(names, held_out, seeds, 0 if "augmented" in message else None)


def test_a_held_out_engine_that_is_not_installed_stops_the_command_before_any_work(monkeypatch, tmp_path, capsys):
    from crossdistill.cli import main

    monkeypatch.setattr("crossdistill.data.engines.installed_engines", lambda: ("espeak",))
    monkeypatch.setattr("crossdistill.data.engines.missing_voices", lambda name: {"kal": f"{name} is not installed"})
    assert main(["engine-study", "--out", str(tmp_path / "s"), "--preset", "tiny", "--seeds", "0"]) == 2
    assert "--held-out-engine festival is not installed here (festival is not installed)" in capsys.readouterr().err
    assert main(["engine-study", "--out", str(tmp_path / "s"), "--settings", "espeak,clean"]) == 2
    assert "--settings must list distinct names" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def _result(test: dict[int, float], unseen: dict[int, float]) -> dict:
    def summary(values):
        mean = sum(values.values()) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values.values()) / (len(values) - 1))
        return {"per_seed": values, "mean": mean, "std": std}

    ratio = summary(unseen)["mean"] / summary(test)["mean"] if summary(test)["mean"] else None
    gap = engine_study.seed_test_record(seed_test([unseen[s] - test[s] for s in test]))
    return {"engines": {"espeak": []}, "training_utterances": 10, "pretrain_epochs": 5, "ratio_of_means": ratio,
            "meets_goal": None if ratio is None else ratio <= 2, "gap_test": gap,
            "error_pct": {"test": summary(test), UNSEEN_ENGINE_TEST: summary(unseen)}}  # fmt: skip


def test_comparisons_pair_seeds_and_subtract_the_earlier_setting():
    results = {"espeak": _result({0: 10.0, 1: 12.0, 2: 11.0}, {0: 40.0, 1: 44.0, 2: 45.0}),
               "all": _result({0: 9.0, 1: 12.0, 2: 10.0}, {0: 20.0, 1: 25.0, 2: 21.0})}  # fmt: skip
    comparisons = {(c["setting"], c["baseline"], c["test_set"]): c for c in compare_settings(results)}
    assert set(comparisons) == {("all", "espeak", "test"), ("all", "espeak", UNSEEN_ENGINE_TEST)}
    unseen = comparisons["all", "espeak", UNSEEN_ENGINE_TEST]
    assert unseen["differences_pp"] == [-20.0, -19.0, -24.0] and unseen["wins"] == 3 and unseen["t_test_p"] < 0.05
    assert unseen["t_test_detectable_pp"] > 0 and "needs 6" in unseen["sign_test_note"]
    assert comparisons["all", "espeak", "test"]["differences_pp"] == [-1.0, 0.0, -1.0]


def test_the_report_states_the_ratio_and_whether_the_goal_holds():
    results = {"espeak": _result({0: 10.0, 1: 12.0, 2: 11.0}, {0: 40.0, 1: 44.0, 2: 45.0}),
               "all": _result({0: 9.0, 1: 12.0, 2: 9.0}, {0: 20.0, 1: 19.0, 2: 21.0}),
               "all+augment": _result({0: 0.0, 1: 0.0, 2: 0.0}, {0: 1.0, 1: 0.0, 2: 2.0})}  # fmt: skip
    summary = {"settings": {"corpus_preset": "default"}, "seeds": [0, 1, 2], "held_out_engine": "festival",
               "augmentation": {"speeds": [0.9, 1.0, 1.1], "noise_snr_db": [10.0, 30.0], "reverb": 0.3},
               "goal_ratio": 2.0, "results": results, "comparisons": compare_settings(results)}  # fmt: skip
    report = format_engine_study(summary)
    header = next(line for line in report.splitlines() if line.startswith("| setting |"))
    assert "| training utterances | pre-training epochs | in-domain test | held-out engine | ratio |" in header
    rows = [line for line in report.splitlines() if line.startswith(tuple(f"| {name} | espeak |" for name in results))]
    assert len(rows) == 3 and all(row.count("|") == header.count("|") for row in rows)
    assert "| espeak | espeak | 10 | 5 | 11.00 ± 1.00 % | 43.00 ± 2.65 % | 3.91 | no |" in report
    assert "| all | espeak | 10 | 5 | 10.00 ± 1.73 % | 20.00 ± 1.00 % | 2.00 | yes |" in report
    no_error = "| all+augment | espeak | 10 | 5 | 0.00 ± 0.00 % | 1.00 ± 1.00 % | n/a (no in-domain error) | n/a |"
    assert no_error in report
    assert "--noise-snr 10:30 --reverb 0.3" in report
    assert "| all − espeak | test_unseen_engine | -23.00 | 3/0 |" in report


def test_the_augmented_setting_is_the_only_one_augmented_and_none_trains_a_teacher():
    for name in SETTINGS:
        settings = engine_study.setting_setup(TINY, name, "flite")
        assert settings.corpus_split == "unseen-engine" and settings.corpus_held_out_engine == "flite"
        assert not settings.with_teacher
        assert settings.corpus_engines == ("espeak,flite" if name == "espeak" else "all")
        assert (engine_study.setting_augmentation(name) is not None) == (name == ALL_AUGMENTED)
    assert engine_study.setting_augmentation(ALL_AUGMENTED).copy_speeds() == (0.9, 1.0, 1.1)
    epochs = {name: engine_study.setting_setup(TINY, name, "flite", 7).pretrain_epochs for name in SETTINGS}
    assert epochs == {"espeak": TINY.pretrain_epochs, "all": TINY.pretrain_epochs, ALL_AUGMENTED: 7}
