"""``recipe: seq2seq``: train paper 001's transformer seq2seq ASR model (supervised, LST eq. 3 or multi-task eq. 4).

Entry points (the recipe contract of ``crossdistill.train.asr``): ``load_config(path, overrides)`` and
``train(config)``; ``crossdistill.train.asr.seq2seq_decode.decode`` decodes a finished run.

Run folder (``out``)::

    run.json                   identity (settings + keys of corpus, units, features, transcript cache) and config
    config.yaml                the resolved config, for people
    train.log                  one JSON line per finished epoch (appended across restarts)
    logs/metrics.csv, tensorboard/   per-epoch loss terms and dev token accuracy (exact across a resume)
    checkpoints/last.ckpt      resume point, written at the end of every epoch (crossdistill.train.resume)
    checkpoints/best-EEE.ckpt  the epoch with the highest dev token accuracy (earliest on ties)
    model/config.json, model/model.safetensors   that epoch's model (Seq2SeqASR.from_pretrained) with its recipe,
                               units key and subword inventory
    hypotheses/{dev,test}.tsv  utt_id, word errors, reference words, reference, hypothesis (beam search)
    metrics.json               selected epoch, dev/test WER (S, D, I), dev ECE of the top-1/2/3 classes, history

A run killed at any moment and started again with the same command ends with the same metrics and weights as an
uninterrupted run; a finished run is returned as it is, and a folder holding a run with other settings or inputs
is refused.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from crossdistill.common import atomic_write_text
from crossdistill.students.asr import SpecAugmentConfig
from crossdistill.students.asr.seq2seq.model import EOS_PIECE, SOS_PIECE, Seq2SeqASR, Seq2SeqConfig
from crossdistill.train.asr.hybrid import feature_statistics
from crossdistill.train.asr.run_folder import (
    LOG_FILE,
    LOGGER,
    METRICS_FILE,
    append_log,
    build_trainer,
    check_run_folder,
    quiet_lightning,
    record_run,
)
from crossdistill.train.asr.seq2seq_config import check_config, load_config, objective_of, settings_identity
from crossdistill.train.asr.seq2seq_data import (
    Seq2SeqCollator,
    Seq2SeqDataModule,
    TranscribedDataset,
    evaluation_loader,
)
from crossdistill.train.asr.seq2seq_eval import teacher_forced_scores, transcribe, utterance_errors, word_error_rate
from crossdistill.train.asr.seq2seq_inputs import Seq2SeqInputs, open_seq2seq_inputs
from crossdistill.train.asr.seq2seq_module import Seq2SeqTrainingModule, build_objective
from crossdistill.train.resume import earlier_seconds, find_resume_point

__all__ = ["load_config", "train"]

log = logging.getLogger(LOGGER)  # seq2seq_module logs each epoch to it too

RECIPE = "seq2seq"
MODEL_DIR = "model"
HYPOTHESES_DIR = "hypotheses"
SELECTION = "highest dev token accuracy of the supervised head (teacher-forced), earliest epoch on ties"
OBJECTIVES = {
    "supervised": "CE(y, supervised head)",
    "lst": "paper 001 eq. 3: CE((1 - lambda) one_hot(y) + lambda softmax(LM / T), supervised head)",
    "multitask": "paper 001 eq. 4: CE(y, supervised head) + lambda T^2 KL(softmax(LM / T) || softmax(kd head / T))",
}


def train(config: DictConfig) -> dict[str, Any]:
    """Train (or resume, or return a finished) seq2seq run; returns what ``out/metrics.json`` holds.

    Every input is read and checked before the run folder is touched. Under DDP only rank 0 decodes and writes the
    model and the metrics; the other processes return an empty dict.
    """
    started = time.time()
    check_config(config)
    progress = bool(config.trainer.progress_bar) and sys.stderr.isatty()
    inputs = open_seq2seq_inputs(config, progress)
    out = Path(config.out)
    identity = {"settings": settings_identity(config), "inputs": inputs.identity()}
    finished = check_run_folder(out, identity, "seq2seq run")
    if finished is not None:
        return finished
    record_run(out, identity, config)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS on a GPU
    pl.seed_everything(config.seed, workers=True, verbose=False)

    model = build_model(config, inputs)
    objective = objective_of(config)
    module = Seq2SeqTrainingModule(
        model,
        build_objective(objective),
        SpecAugmentConfig(**config.specaugment),
        config.ctc_weight,
        config.lr,
        config.warmup_steps,
        config.weight_decay,
        config.seed,
        config.epochs,
        config.frame_weight,
    )
    collate = Seq2SeqCollator(model.config.sos_id, model.config.eos_id)
    data = Seq2SeqDataModule(
        datasets(inputs, config.frame_unit if config.frame_weight > 0 else None),
        collate,
        config.batch_size,
        config.eval_batch_size,
        config.bucket_factor,
        config.seed,
        config.shuffle,
        config.num_workers,
    )
    resume = find_resume_point(out / "checkpoints")
    with quiet_lightning(not progress):
        trainer = build_trainer(config, out, resume, progress, monitor="dev/token_accuracy", mode="max")
        with append_log(out / LOG_FILE, trainer.global_rank):
            if resume is not None:
                log.info("resuming from %s at epoch %d", resume.checkpoint, resume.epoch + 1)
            trainer.fit(module, datamodule=data, ckpt_path=resume.checkpoint if resume else None, weights_only=True)
    if trainer.global_rank != 0:
        return {}
    return _finish(out, module, trainer, inputs, data, config, started)


def datasets(inputs: Seq2SeqInputs, frame_unit: str | None = None) -> dict[str, TranscribedDataset]:
    """Train and dev datasets (the teacher's rows only where the objective reads them: training batches), with the
    units folder's ``frame_unit`` labels when the run has the auxiliary frame loss."""
    return {
        role: TranscribedDataset(
            [u.utt_id for u in inputs.utterances(role)],
            inputs.features[inputs.splits[role]],
            inputs.tokens[role],
            inputs.teacher,
            None if frame_unit is None else inputs.units.frames(inputs.splits[role]),
            frame_unit,
        )
        for role in ("train", "dev")
    }


def build_model(config: DictConfig, inputs: Seq2SeqInputs) -> Seq2SeqASR:
    """The model for this run: the units folder's subwords, a KD layer for the multi-task objective, a CTC layer when
    ``ctc_weight`` > 0, and feature normalization from the training split."""
    inventory = inputs.units.inventories["subword"]
    for piece in (SOS_PIECE, EOS_PIECE):
        if piece not in inventory:
            raise ValueError(f"{inputs.units.folder / 'subword.txt'} has no {piece!r}: not a sentencepiece inventory")
    model_config = Seq2SeqConfig(
        vocab_size=inputs.vocab_size,
        sos_id=inventory[SOS_PIECE],
        eos_id=inventory[EOS_PIECE],
        kd_head=objective_of(config).name == "multitask",
        ctc_head=config.ctc_weight > 0,
        frame_classes=inputs.units.size(config.frame_unit) if config.frame_weight > 0 else 0,
        **config.model,
    )
    model = Seq2SeqASR(model_config)
    model.set_feature_statistics(*feature_statistics(inputs.features[inputs.splits["train"]]))
    return model


def _finish(
    out: Path,
    module: Seq2SeqTrainingModule,
    trainer: pl.Trainer,
    inputs: Seq2SeqInputs,
    data: Seq2SeqDataModule,
    config: DictConfig,
    started: float,
) -> dict[str, Any]:
    chosen = choose_epoch(module.history)
    best_path = Path(trainer.checkpoint_callback.best_model_path)
    checkpoint = torch.load(best_path, map_location="cpu", weights_only=True)
    if int(checkpoint["epoch"]) + 1 != chosen["epoch"]:
        raise RuntimeError(f"{best_path} holds epoch {int(checkpoint['epoch']) + 1}, history chose {chosen['epoch']}")
    module.load_state_dict(checkpoint["state_dict"])
    model = module.model.eval()
    model.save_pretrained(out / MODEL_DIR, extra=model_metadata(config, inputs))

    dev_scores = teacher_forced_scores(
        model, evaluation_loader(data.datasets["dev"], config.eval_batch_size, data.collate)
    )
    results = {role: decode_role(model, inputs, role, config, out) for role in ("dev", "test")}
    objective = objective_of(config)
    metrics = {
        "recipe": RECIPE,
        "objective": {
            "name": objective.name,
            "weight": objective.weight,
            "temperature": objective.resolved_temperature(),
            "definition": OBJECTIVES[objective.name],
        },
        "ctc_weight": config.ctc_weight,
        "frame_weight": config.frame_weight,
        "seed": config.seed,
        "selected_epoch": chosen["epoch"],
        "selection": SELECTION,
        "dev_token_accuracy": dev_scores["token_accuracy"],
        "dev_ce": dev_scores["ce"],
        "dev_ece": dev_scores["ece"],
        "ece_definition": "ECE (15 equal-width bins) of the k-th most probable subword of the supervised head, "
        "teacher-forced at every target position of the dev transcripts",
        "dev_wer": results["dev"]["wer"],
        "test_wer": results["test"]["wer"],
        "wer": results,
        "decode": OmegaConf.to_container(config.decode, resolve=True),
        "test_oov_words": len(inputs.oov["test"]),
        "parameters": sum(p.numel() for p in model.parameters()),
        "units_key": inputs.units.key,
        "teacher_cache": None
        if inputs.teacher is None
        else {"dir": str(inputs.teacher.root), "key": inputs.teacher.meta["key"]},
        "train_utterances_per_second": float(np.median([r["train"]["utterances_per_second"] for r in module.history])),
        "epochs": len(module.history),
        "history": module.history,
        "seconds": round(time.time() - started + earlier_seconds(trainer), 1),  # over restarts
    }
    atomic_write_text(out / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    with append_log(out / LOG_FILE, 0):
        log.info(
            "finished: epoch %d selected, dev WER %.4f, test WER %.4f",
            chosen["epoch"],
            metrics["dev_wer"],
            metrics["test_wer"],
        )
    return metrics


def decode_role(model: Seq2SeqASR, inputs: Seq2SeqInputs, role: str, config: DictConfig, out: Path) -> dict:
    """Beam-search one split, write its hypotheses file and return its WER parts and real-time factor."""
    utterances = inputs.utterances(role)
    decoded = transcribe(
        model,
        inputs.features[inputs.splits[role]],
        [u.utt_id for u in utterances],
        inputs.subwords,
        config.decode.beam,
        config.decode.length_penalty,
        config.decode.max_tokens,
        config.decode.batch_size,
        ctc_weight=config.decode.ctc_weight,
    )
    references = [" ".join(u.words) for u in utterances]
    hypotheses = [decoded.hypotheses[u.utt_id] for u in utterances]
    write_hypotheses(out / HYPOTHESES_DIR / f"{role}.tsv", [u.utt_id for u in utterances], references, hypotheses)
    return {
        **word_error_rate(references, hypotheses),
        "split": inputs.splits[role],
        "real_time_factor": decoded.real_time_factor,
    }


def write_hypotheses(path: Path, utt_ids: list[str], references: list[str], hypotheses: list[str]) -> None:
    """``utt_id  errors  reference_words  reference  hypothesis`` per utterance (tab-separated, with a header)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter="\t", lineterminator="\n")
    writer.writerow(["utt_id", "errors", "reference_words", "reference", "hypothesis"])
    for utt_id, reference, hypothesis in zip(utt_ids, references, hypotheses, strict=True):
        writer.writerow(
            [utt_id, utterance_errors(reference, hypothesis), len(reference.split()), reference, hypothesis]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text.getvalue())


def model_metadata(config: DictConfig, inputs: Seq2SeqInputs) -> dict[str, Any]:
    """What ``model/config.json`` records besides the sizes: enough to decode a corpus with the right units."""
    return {
        "recipe": RECIPE,
        "units_key": inputs.units.key,
        "units_dir": str(Path(config.units).absolute()),
        "subword_inventory": "subword.txt of the units folder (sentencepiece ids)",
        "objective": objective_of(config).name,
        "decode": OmegaConf.to_container(config.decode, resolve=True),
    }


def choose_epoch(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The epoch with the highest dev token accuracy (the earliest on ties, as ModelCheckpoint keeps it)."""
    if not history:
        raise ValueError("no finished epoch to select from")
    return min(history, key=lambda record: (-record["dev"]["token_accuracy"], record["epoch"]))
