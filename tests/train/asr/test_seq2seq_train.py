"""End to end on the tiny chain: the seq2seq model trains with each of the three objectives of paper 001's Fig. 3,
selects on dev, decodes dev and test by beam search (WER with S/D/I, ECE of the top-1/2/3 classes), and the decode
command reproduces the run's test WER; a killed run resumes to exactly the uninterrupted result."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from crossdistill.cli import main
from crossdistill.students.asr.seq2seq import KD_HEAD
from crossdistill.train.asr.seq2seq import load_config, train
from crossdistill.train.asr.seq2seq_decode import decode, load_trained_seq2seq
from crossdistill.train.asr.seq2seq_eval import word_error_rate

CONFIGS = Path(__file__).parents[3] / "configs" / "asr" / "seq2seq"
OBJECTIVES = ("supervised", "lst", "multitask")


@pytest.fixture(scope="module")
def runs(asr_pipeline, tmp_path_factory):
    root = tmp_path_factory.mktemp("seq2seq")
    weights = {"supervised": {}, "lst": {"objective.weight": 0.4}, "multitask": {"objective.weight": 0.6}}
    result = {}
    for name in OBJECTIVES:
        config = load_config(CONFIGS / f"{name}.yaml", asr_pipeline.seq2seq_overrides(root / name, **weights[name]))
        result[name] = (root / name, train(config))
    return result


@pytest.mark.parametrize("name", OBJECTIVES)
def test_each_objective_trains_logs_its_terms_and_selects_on_dev(runs, name):
    out, metrics = runs[name]
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert metrics["objective"]["name"] == name and metrics["epochs"] == 2
    expected_temperature = {"supervised": 1.0, "lst": 5.0, "multitask": 1.0}[name]
    assert metrics["objective"]["temperature"] == expected_temperature
    for record in metrics["history"]:
        for role in ("train", "dev"):
            part = record[role]
            assert all(math.isfinite(part[key]) for key in ("loss", "ce", "kd"))
            if name == "multitask":  # paper 001 eq. 4: CE + lambda * KD (utterance means)
                assert part["loss"] == pytest.approx(part["ce"] + 0.6 * part["kd"], rel=1e-5)
            elif name == "lst":  # eq. 3: the loss is the CE against the interpolated target, not the plain CE
                assert part["loss"] == pytest.approx(part["kd"], rel=1e-6) and part["loss"] != part["ce"]
            else:
                assert part["loss"] == pytest.approx(part["ce"], rel=1e-6)
    assert metrics["history"][1]["train"]["loss"] < metrics["history"][0]["train"]["loss"]
    best = max(r["dev"]["token_accuracy"] for r in metrics["history"])
    assert metrics["selected_epoch"] == min(
        r["epoch"] for r in metrics["history"] if r["dev"]["token_accuracy"] == best
    )
    assert [r["epoch"] for r in metrics["history"]] == [1, 2]
    assert (out / "checkpoints" / f"best-epoch={metrics['selected_epoch'] - 1:03d}.ckpt").is_file()
    assert logged_epochs(out) == metrics["history"]


def logged_epochs(out: Path) -> list[dict]:
    lines = [line for line in (out / "train.log").read_text().splitlines() if " epoch {" in line]
    return [json.loads(line.split(" epoch ", 1)[1]) for line in lines]


@pytest.mark.parametrize("name", OBJECTIVES)
def test_each_objective_decodes_to_a_scored_wer_and_calibration(runs, name):
    out, metrics = runs[name]
    for role in ("dev", "test"):
        with open(out / "hypotheses" / f"{role}.tsv", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        scored = word_error_rate([r["reference"] for r in rows], [r["hypothesis"] for r in rows])
        assert scored["wer"] == metrics[f"{role}_wer"] == metrics["wer"][role]["wer"]
        assert (
            sum(int(r["errors"]) for r in rows) == scored["substitutions"] + scored["deletions"] + scored["insertions"]
        )
        assert scored["reference_words"] == sum(int(r["reference_words"]) for r in rows) > 0
        assert all("⁇" not in r["hypothesis"] and "<" not in r["hypothesis"] for r in rows)  # no <unk>, <s>, <sil>
    assert set(metrics["dev_ece"]) == {"top1", "top2", "top3"}
    assert all(0.0 <= value <= 1.0 for value in metrics["dev_ece"].values())
    assert metrics["dev_token_accuracy"] == metrics["history"][metrics["selected_epoch"] - 1]["dev"]["token_accuracy"]


def test_the_decode_command_reproduces_the_runs_test_wer(runs, asr_pipeline, capsys):
    out, metrics = runs["multitask"]
    assert main(["asr", "decode", "--model", str(out), "--corpus", str(asr_pipeline.corpus), "--split", "test",
                 "--threads", "1", "--features-cache", str(asr_pipeline.features_cache), "--quiet"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["wer"] == metrics["test_wer"] and report["decode"]["beam"] == 2
    assert json.loads((out / "decode" / "test-beam2.json").read_text()) == report
    assert main(["asr", "decode", "--model", str(out), "--corpus", str(asr_pipeline.corpus), "--lm-weight", "2"]) == 2
    assert "--lm-weight" in capsys.readouterr().err


def test_decoding_never_reads_the_kd_head(runs, asr_pipeline, tmp_path):
    out, metrics = runs["multitask"]
    model, _, _ = load_trained_seq2seq(out)
    assert KD_HEAD in model.head_names
    changed = tmp_path / "run"
    shutil.copytree(out / "model", changed / "model")
    with torch.no_grad():
        model.heads[KD_HEAD].weight.normal_()
        model.heads[KD_HEAD].bias.fill_(5.0)
    model.save_pretrained(changed / "model", extra=json.loads((out / "model" / "config.json").read_text()) | {})
    report = decode(changed, asr_pipeline.corpus, "test", threads=1, features_cache=asr_pipeline.features_cache,
                    progress=False)  # fmt: skip
    assert report["wer"] == metrics["test_wer"]
    assert (changed / "decode" / "test-beam2.tsv").read_text() == (out / "hypotheses" / "test.tsv").read_text()


def test_a_finished_run_is_returned_unchanged_and_other_settings_are_refused(runs, asr_pipeline):
    out, metrics = runs["lst"]
    stamp = (out / "metrics.json").stat().st_mtime_ns
    again = load_config(CONFIGS / "lst.yaml", asr_pipeline.seq2seq_overrides(out, **{"objective.weight": 0.4}))
    assert train(again) == metrics and (out / "metrics.json").stat().st_mtime_ns == stamp
    other = load_config(CONFIGS / "lst.yaml", asr_pipeline.seq2seq_overrides(out, **{"objective.weight": 0.5}))
    with pytest.raises(ValueError, match=r"objective\.weight"):
        train(other)


def test_a_killed_run_resumes_to_the_uninterrupted_result(
    runs, asr_pipeline, run_killed, lengthen_killed_process, tmp_path, without_throughput
):
    reference_out, reference = runs["multitask"]
    out = tmp_path / "killed"
    args = ["asr", "train", "--config", str(CONFIGS / "multitask.yaml"),
            *asr_pipeline.seq2seq_overrides(out, **{"objective.weight": 0.6})]  # fmt: skip
    # 20 training utterances in batches of 4: step 8 is in the middle of the second epoch.
    killed = run_killed("crossdistill.train.asr.seq2seq_module:Seq2SeqTrainingModule.training_step", 8, *args)
    assert killed.returncode != 0 and not (out / "metrics.json").exists()
    assert 0 < lengthen_killed_process(out / "checkpoints" / "last.ckpt", 1e6) < 600
    assert main(args) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    assert 1e6 < resumed["seconds"] < 1e6 + 600
    for key in ("history", "dev_wer", "test_wer", "dev_ece", "selected_epoch", "dev_token_accuracy"):
        assert without_throughput(resumed[key]) == without_throughput(reference[key]), key
    a, b = (
        load_file(str(out / "model" / "model.safetensors")),
        load_file(str(reference_out / "model" / "model.safetensors")),
    )
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (out / "hypotheses" / "test.tsv").read_text() == (reference_out / "hypotheses" / "test.tsv").read_text()
    # The interrupted epoch 2 is logged once, after the resume.
    assert without_throughput(logged_epochs(out)) == without_throughput(reference["history"])


def test_the_frame_loss_and_joint_ctc_decoding_train_and_decode(asr_pipeline, tmp_path, capsys):
    from crossdistill.data.asr.units import load_units

    out = tmp_path / "frame"
    extra = {"frame_weight": 0.5, "ctc_weight": 0.3, "decode.ctc_weight": 0.3}
    metrics = train(load_config(CONFIGS / "supervised.yaml", asr_pipeline.seq2seq_overrides(out, **extra)))
    for record in metrics["history"]:
        for role in ("train", "dev"):
            part = record[role]
            expected = 0.7 * part["ce"] + 0.3 * part["ctc"] + 0.5 * part["frame"]
            assert part["frame"] > 0 and part["loss"] == pytest.approx(expected, rel=1e-5)
    assert metrics["history"][1]["train"]["frame"] < metrics["history"][0]["train"]["frame"]
    model, _, _ = load_trained_seq2seq(out)
    assert model.frame is not None and model.frame.out_features == load_units(asr_pipeline.units).size("phone")
    assert metrics["frame_weight"] == 0.5 and metrics["decode"]["ctc_weight"] == 0.3
    assert math.isfinite(metrics["test_wer"])
    # The decode command takes the run's joint weight, or another one.
    command = ["asr", "decode", "--model", str(out), "--corpus", str(asr_pipeline.corpus), "--split", "test",
               "--features-cache", str(asr_pipeline.features_cache), "--ctc-weight", "0", "--quiet"]  # fmt: skip
    assert main(command) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["decode"]["ctc_weight"] == 0 and report["hypotheses"].endswith("test-beam2.tsv")
    with pytest.raises(ValueError, match="frame_unit must be one of"):
        load_config(
            CONFIGS / "supervised.yaml", asr_pipeline.seq2seq_overrides(out, frame_weight=0.5, frame_unit="word")
        )
    with pytest.raises(ValueError, match=r"decode\.ctc_weight > 0 needs the CTC layer"):
        load_config(CONFIGS / "supervised.yaml", asr_pipeline.seq2seq_overrides(out, **{"decode.ctc_weight": 0.3}))
