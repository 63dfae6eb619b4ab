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

import contextlib
import csv
import io
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from omegaconf import DictConfig, OmegaConf

from crossdistill.common import atomic_write_text
from crossdistill.students.asr import SpecAugmentConfig
from crossdistill.students.asr.seq2seq.model import EOS_PIECE, SOS_PIECE, Seq2SeqASR, Seq2SeqConfig
from crossdistill.train.asr.hybrid import feature_statistics
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
from crossdistill.train.resume import (
    EpochEndCheckpoint,
    ResumePoint,
    find_resume_point,
    refuse_other_settings,
    run_loggers,
)

__all__ = ["load_config", "train"]

log = logging.getLogger(__name__)  # seq2seq_module logs each epoch here too

RECIPE = "seq2seq"
RUN_FILE = "run.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
LOG_FILE = "train.log"
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
    finished = _check_run_folder(out, identity)
    if finished is not None:
        return finished
    _record_run(out, identity, config)
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
    )
    collate = Seq2SeqCollator(model.config.sos_id, model.config.eos_id)
    data = Seq2SeqDataModule(
        datasets(inputs),
        collate,
        config.batch_size,
        config.eval_batch_size,
        config.bucket_factor,
        config.seed,
        config.shuffle,
        config.num_workers,
    )
    resume = find_resume_point(out / "checkpoints")
    trainer = _build_trainer(config, out, resume, progress)
    with _log_to_file(out / LOG_FILE, trainer.global_rank):
        if resume is not None:
            log.info("resuming from %s (epoch %d)", resume.checkpoint, resume.epoch + 1)
        trainer.fit(module, datamodule=data, ckpt_path=resume.checkpoint if resume else None, weights_only=True)
    if trainer.global_rank != 0:
        return {}
    return _finish(out, module, trainer, inputs, data, config, started)


def datasets(inputs: Seq2SeqInputs) -> dict[str, TranscribedDataset]:
    """Train and dev datasets (the teacher's rows only where the objective reads them: training batches)."""
    return {
        role: TranscribedDataset(
            [u.utt_id for u in inputs.utterances(role)],
            inputs.features[inputs.splits[role]],
            inputs.tokens[role],
            inputs.teacher,
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
        "seconds": round(time.time() - started, 1),
    }
    atomic_write_text(out / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    with _log_to_file(out / LOG_FILE, 0):
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


def _check_run_folder(out: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """Refuse a folder holding another run; return this run's metrics if it already finished."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {out} exists and is not a folder")
    run_file = out / RUN_FILE
    if not run_file.is_file():
        if out.is_dir() and any(out.iterdir()):
            raise ValueError(f"out {out} is not empty and holds no seq2seq run ({RUN_FILE}); choose another folder")
        return None
    previous = json.loads(run_file.read_text(encoding="utf-8")).get("identity", {})
    refuse_other_settings(out, "seq2seq run", previous, identity)
    metrics = out / METRICS_FILE
    return json.loads(metrics.read_text(encoding="utf-8")) if metrics.is_file() else None


def _record_run(out: Path, identity: dict[str, Any], config: DictConfig) -> None:
    if int(os.environ.get("LOCAL_RANK", "0")) != 0 or int(os.environ.get("NODE_RANK", "0")) != 0:
        return  # DDP workers started by Lightning find the folder prepared by rank 0
    out.mkdir(parents=True, exist_ok=True)
    payload = {"recipe": RECIPE, "identity": identity, "config": OmegaConf.to_container(config, resolve=True)}
    atomic_write_text(out / RUN_FILE, json.dumps(payload, indent=2, sort_keys=True) + "\n")
    atomic_write_text(out / CONFIG_FILE, OmegaConf.to_yaml(config))


@contextlib.contextmanager
def _log_to_file(path: Path, rank: int) -> Iterator[None]:
    """Append this module's INFO log to ``path`` on rank 0 (train.log survives restarts)."""
    if rank != 0:
        yield
        return
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    previous = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(previous)
        handler.close()


def _build_trainer(config: DictConfig, out: Path, resume: ResumePoint | None, progress: bool) -> pl.Trainer:
    best = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best-{epoch:03d}",
        monitor="dev/token_accuracy",
        mode="max",
        save_top_k=1,
        enable_version_counter=False,  # a repeated epoch rewrites its own file
    )
    callbacks: list[pl.Callback] = [best, EpochEndCheckpoint(out / "checkpoints")]
    if progress:
        callbacks.append(TQDMProgressBar(leave=False))
    return pl.Trainer(
        max_epochs=config.epochs,
        accelerator=config.trainer.accelerator,
        devices=config.trainer.devices,
        num_nodes=config.trainer.num_nodes,
        strategy=config.trainer.strategy,
        precision=config.trainer.precision,
        deterministic=config.trainer.deterministic,
        log_every_n_steps=config.trainer.log_every_n_steps,
        gradient_clip_val=config.grad_clip or None,
        callbacks=callbacks,
        logger=run_loggers(out, "logs", resume),
        enable_progress_bar=progress,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,  # Seq2SeqDataModule shards the training set itself
        default_root_dir=out,
    )
