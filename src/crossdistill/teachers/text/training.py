"""Fine-tune the text teacher on a corpus's training transcripts, select on valid, report all three splits.

Deduplication: FSC repeats a few hundred phrasings over 30k utterances, so an epoch is one pass over the
*unique* (transcript, labels) pairs of the training split. ``weighting="unique"`` (default) gives every pair
the same weight, so frequent phrasings do not drown rare ones; ``weighting="count"`` weights each pair's loss
by how many utterances carry it, which reproduces the per-utterance loss exactly at a fraction of the cost.
Errors are always reported per utterance (every utterance counted, since the teacher's prediction on a
transcript is its prediction on every utterance of that transcript) and, beside them, per unique pair.

A plain PyTorch loop rather than Lightning: the teacher trains on a few hundred short sequences in seconds
to minutes on a CPU, and keeping the loop in-process makes best-on-valid selection and exact seeding simple.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from crossdistill.common import atomic_write_text
from crossdistill.common.progress import show_progress
from crossdistill.common.random_state import capture_random_state, restore_random_state
from crossdistill.data.corpus import Corpus
from crossdistill.teachers.text.encoders import DEFAULT_ENCODER, resolve_encoder
from crossdistill.teachers.text.examples import TextExample, build_corpus_examples
from crossdistill.teachers.text.inference import predict
from crossdistill.teachers.text.model import (
    HEAD_SETS,
    TeacherArchitecture,
    TeacherConfig,
    TextTeacher,
    build_teacher,
    save_teacher,
)
from crossdistill.teachers.text.run_folder import (
    finished_teacher,
    load_checkpoint,
    move_into_place,
    prepare_work_folder,
    run_identity,
    save_checkpoint,
)

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
LOG_FILE = "train.log"
WEIGHTINGS = ("unique", "count")
# Defaults per arch, chosen on the synthetic corpus (see docs/teacher.md): the pretrained encoder needs a
# few epochs at a fine-tuning rate, the BiLSTM many more at a from-scratch rate.
DEFAULT_EPOCHS = {"transformer": 10, "scratch": 20}
DEFAULT_LR = {"transformer": 3e-4, "scratch": 3e-3}
# The new dense layer and heads start from random weights and learn faster at a higher rate than the
# pretrained encoder (a common fine-tuning practice); for the scratch teacher everything is new.
DEFAULT_HEAD_LR_SCALE = {"transformer": 10.0, "scratch": 1.0}


@dataclass
class TrainOptions(TeacherArchitecture):
    """Options of ``train_teacher``: the training settings below and the teacher's sizes (``TeacherArchitecture``:
    max_length, dense_dim, dropout, embedding_dim, hidden_dim, num_layers).

    Fields:
      arch: ``transformer`` or ``scratch``.
      encoder: HF folder or hub name (``minilm`` = the packaged all-MiniLM-L6-v2); transformer only.
      tokenizer: tokenizer folder or name; defaults to the encoder's (scratch: the MiniLM tokenizer).
      heads: ``intent`` or ``intent+slots``.
      epochs, lr: None picks the arch's default (``DEFAULT_EPOCHS``, ``DEFAULT_LR``).
      head_lr_scale: the dense layer and heads learn at ``lr * head_lr_scale`` (None: the arch's default).
      batch_size: unique pairs per step.
      weighting: ``unique`` or ``count`` (see the module docstring).
      warmup: fraction of the steps with a linear learning-rate warm-up (then linear decay to 0).
      threads: torch intra-op threads while training (None: leave torch's setting). On a busy shared CPU one
        thread is often faster than two: small ops gain little from threads and lose a lot to spinning.
    """

    arch: str = "transformer"
    encoder: str = DEFAULT_ENCODER
    tokenizer: str | None = None
    heads: str = "intent"
    epochs: int | None = None
    lr: float | None = None
    head_lr_scale: float | None = None
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup: float = 0.1
    grad_clip: float = 1.0
    weighting: str = "unique"
    seed: int = 0
    eval_batch_size: int = 128
    threads: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.heads not in HEAD_SETS:
            raise ValueError(f"--heads must be one of {sorted(HEAD_SETS)}, got {self.heads!r}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"--weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        if self.epochs is None:
            self.epochs = DEFAULT_EPOCHS.get(self.arch, 1)
        if self.lr is None:
            self.lr = DEFAULT_LR.get(self.arch, 1e-4)
        if self.head_lr_scale is None:
            self.head_lr_scale = DEFAULT_HEAD_LR_SCALE.get(self.arch, 1.0)
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0 or not self.head_lr_scale > 0:
            raise ValueError(f"lr and head_lr_scale must be > 0, got {self.lr} and {self.head_lr_scale}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup must lie in [0, 1), got {self.warmup}")
        self.check_architecture()

    def teacher_config(self, corpus: Corpus) -> TeacherConfig:
        """The config of a new teacher for ``corpus`` (resolves the encoder and tokenizer references)."""
        encoder = resolve_encoder(self.encoder) if self.arch == "transformer" else None
        tokenizer = resolve_encoder(self.tokenizer or (self.encoder if self.arch == "transformer" else DEFAULT_ENCODER))
        return TeacherConfig(
            arch=self.arch,
            labels=corpus.labels.to_dict(),
            heads=HEAD_SETS[self.heads],
            encoder_source=encoder,
            tokenizer_source=tokenizer,
            **self.architecture(),
        )


def example_targets(examples: Sequence[TextExample], heads: Sequence[str]) -> dict[str, Tensor]:
    """Return the class ids of every head for ``examples``: {head: LongTensor (N,)}."""
    targets = {"intent": torch.tensor([e.intent for e in examples])}
    for i, slot in enumerate(("action", "object", "location")):
        if slot in heads:
            targets[slot] = torch.tensor([e.slots[i] for e in examples])
    return targets


def compute_loss(logits: dict[str, Tensor], targets: dict[str, Tensor], weights: Tensor) -> Tensor:
    """Weighted mean over examples of the summed cross-entropy of every head."""
    per_example = sum(F.cross_entropy(logits[h], targets[h].to(logits[h].device), reduction="none") for h in logits)
    weights = weights.to(per_example.device)
    return (per_example * weights).sum() / weights.sum()


def evaluate_split(teacher: TextTeacher, examples: Sequence[TextExample], batch_size: int = 128) -> dict[str, Any]:
    """Errors and loss of the teacher on one split's unique examples, counted per utterance and per pair.

    Returns ``utterances``, ``unique_pairs``, ``intent_error`` (per utterance), ``intent_error_unique`` (per
    pair), ``loss`` (mean cross-entropy per utterance, summed over heads) and, with slot heads,
    ``slots_error`` / ``slots_error_unique`` (an utterance counts as right only when all three slots are).
    """
    if not examples:
        return {"utterances": 0, "unique_pairs": 0}
    heads = teacher.config.heads
    logits, _ = predict(teacher, [e.text for e in examples], batch_size=batch_size)
    targets = example_targets(examples, heads)
    counts = torch.tensor([e.count for e in examples], dtype=torch.float64)

    def rates(wrong: Tensor) -> tuple[float, float]:
        wrong = wrong.double()
        return float((wrong * counts).sum() / counts.sum()), float(wrong.mean())

    result: dict[str, Any] = {"utterances": int(counts.sum()), "unique_pairs": len(examples)}
    result["intent_error"], result["intent_error_unique"] = rates(logits["intent"].argmax(-1) != targets["intent"])
    slots = [h for h in heads if h != "intent"]
    if slots:
        wrong = torch.stack([logits[s].argmax(-1) != targets[s] for s in slots]).any(dim=0)
        result["slots_error"], result["slots_error_unique"] = rates(wrong)
    result["loss"] = float(compute_loss({h: logits[h] for h in heads}, targets, counts.float()))
    return result


def build_optimizer(teacher: TextTeacher, options: TrainOptions) -> torch.optim.Optimizer:
    """AdamW with two groups: the encoder at ``lr``, the dense layer and heads at ``lr * head_lr_scale``."""
    encoder = list(teacher.encoder.parameters())
    top = [*teacher.dense.parameters(), *teacher.heads.parameters()]
    groups = [
        {"params": encoder, "lr": options.lr},
        {"params": top, "lr": options.lr * options.head_lr_scale},
    ]
    try:
        # The fused CPU kernel is ~20x faster than the per-tensor loop on a 22M-parameter encoder.
        return torch.optim.AdamW(groups, weight_decay=options.weight_decay, fused=True)
    except (RuntimeError, TypeError):  # pragma: no cover - older torch or an unsupported device
        return torch.optim.AdamW(groups, weight_decay=options.weight_decay)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the body with ``threads`` torch intra-op threads (None: unchanged), restoring the setting after."""
    if threads is None:
        yield
        return
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)


# Options that change how a run is executed, not what it computes: a resumed or finished run may differ in them.
EXECUTION_OPTIONS = ("threads", "progress", "eval_batch_size")


def train_teacher(corpus: Corpus, out_dir: str | Path, options: TrainOptions, overwrite: bool = False) -> dict:
    """Fine-tune a teacher on ``corpus``'s training transcripts and save it to ``out_dir``.

    The epoch with the lowest valid intent error (ties: lowest valid loss) is kept. ``out_dir`` receives
    ``teacher.json``, ``model.safetensors``, ``tokenizer/``, ``encoder/`` (transformer), ``metrics.json`` and
    ``train.log``; it is built in a work folder beside it (``run_folder``) and moved into place only when complete.
    A killed run started again resumes after its last finished epoch and ends exactly as an uninterrupted run; a
    finished teacher with the same options and data is returned untouched. Returns the metrics ``metrics.json`` holds.
    """
    out_dir = Path(out_dir).expanduser().absolute()
    examples = build_corpus_examples(corpus)  # validates transcripts and labels before any heavy work
    settings = {key: value for key, value in asdict(options).items() if key not in EXECUTION_OPTIONS}
    identity = run_identity(settings, examples)
    finished = finished_teacher(out_dir, identity, overwrite)
    if finished is not None:
        return finished
    work = prepare_work_folder(out_dir, identity)
    # A failure keeps the work folder: its checkpoint lets the same command continue.
    with _log_to_file(work / LOG_FILE), torch_threads(options.threads):
        metrics = _train(corpus, examples, work, options, identity)
    move_into_place(work, out_dir)
    log.info("teacher saved to %s", out_dir)
    return metrics


@contextlib.contextmanager
def _log_to_file(path: Path) -> Iterator[None]:
    """Copy this module's INFO log to ``path`` (train.log), whatever the application's logging setup."""
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")  # a resumed run appends
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    previous = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(previous)
        handler.close()


def _train(
    corpus: Corpus, examples: dict[str, list[TextExample]], out_dir: Path, options: TrainOptions, identity: dict
) -> dict:
    from transformers import get_linear_schedule_with_warmup

    started = time.perf_counter()
    _seed_everything(options.seed)
    config = options.teacher_config(corpus)
    teacher = build_teacher(config)
    train = examples["train"]
    label_sets_per_text = Counter(e.text for e in train)
    conflicting = sum(1 for n in label_sets_per_text.values() if n > 1)
    log.info(
        "corpus %s: %s; train has %d unique (transcript, labels) pairs%s",
        corpus.root,
        ", ".join(f"{s} {len(u)} utterances" for s, u in corpus.splits.items()),
        len(train),
        f" ({conflicting} transcripts carry two or more label sets)" if conflicting else "",
    )
    log.info(
        "teacher %s (%s), heads %s, options %s",
        config.arch,
        config.encoder_source or "from scratch",
        "+".join(config.heads),
        json.dumps(asdict(options), sort_keys=True),
    )

    targets = example_targets(train, config.heads)
    counts = torch.tensor([e.count for e in train], dtype=torch.float32)
    weights = counts / counts.mean() if options.weighting == "count" else torch.ones(len(train))
    steps_per_epoch = -(-len(train) // options.batch_size)
    total_steps = steps_per_epoch * options.epochs
    optimizer = build_optimizer(teacher, options)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(options.warmup * total_steps), total_steps)
    shuffler = torch.Generator().manual_seed(options.seed)

    history, best, best_state, selected, first_epoch, seconds_before = [], None, None, 0, 1, 0.0
    resumed = load_checkpoint(out_dir)
    if resumed is not None:
        state, best_state = resumed
        teacher.load_state_dict(state["teacher"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        shuffler.set_state(state["shuffler"])
        history, best, selected = state["history"], tuple(state["best"]), state["selected"]
        first_epoch, seconds_before = state["epoch"] + 1, state["seconds"]
        restore_random_state(state["random"])  # last: nothing may draw between here and the next epoch
        log.info("resuming after epoch %d (of %d) from %s", state["epoch"], options.epochs, out_dir)
    epochs = range(first_epoch, options.epochs + 1)
    bar = tqdm(epochs, desc="teacher train", unit="epoch", disable=not show_progress(options.progress))
    for epoch in bar:
        teacher.train()
        order = torch.randperm(len(train), generator=shuffler)
        epoch_loss = 0.0
        for start in range(0, len(train), options.batch_size):
            rows = order[start : start + options.batch_size]
            batch = teacher.tokenize([train[i].text for i in rows.tolist()])
            loss = compute_loss(teacher(**batch), {h: t[rows] for h, t in targets.items()}, weights[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(teacher.parameters(), options.grad_clip)
            optimizer.step()
            scheduler.step()
            epoch_loss += loss.item() * len(rows)
        valid = evaluate_split(teacher, examples["valid"], options.eval_batch_size)
        record = {"epoch": epoch, "train_loss": epoch_loss / len(train), "valid": valid}
        history.append(record)
        # Select on valid (lowest intent error, then lowest loss); with no valid split keep the last epoch.
        score = (valid.get("intent_error", 0.0), valid.get("loss", -epoch))
        improved = best is None or score < best
        if improved:
            best, best_state, selected = score, {k: v.detach().clone() for k, v in teacher.state_dict().items()}, epoch
            record["improved"] = True
        bar.set_postfix(loss=f"{record['train_loss']:.4f}", valid_err=f"{valid.get('intent_error', float('nan')):.4f}")
        log.info("epoch %d: train loss %.4f, valid %s", epoch, record["train_loss"], json.dumps(valid))
        state = {
            "epoch": epoch,
            "teacher": teacher.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "shuffler": shuffler.get_state(),
            "random": capture_random_state(),
            "history": history,
            "best": list(best),
            "selected": selected,
            "seconds": seconds_before + time.perf_counter() - started,
        }
        save_checkpoint(out_dir, state, best_state if improved else None)

    teacher.load_state_dict(best_state)
    teacher.eval()
    splits = {split: evaluate_split(teacher, examples[split], options.eval_batch_size) for split in examples}
    metrics = {
        "selected_epoch": selected,
        "splits": splits,
        "selection": "lowest valid intent_error, then lowest valid loss",
        "weighting": options.weighting,
        "train_seconds": round(seconds_before + time.perf_counter() - started, 2),  # all runs of a resumed one
        "history": history,
        "options": asdict(options),
        "identity": identity,
        "teacher": config.to_dict() | {"labels": f"{len(corpus.labels.intents)} intents (see teacher.json)"},
    }
    for split, result in splits.items():
        if result["utterances"]:
            log.info(
                "%s text error: %.2f%% of %d utterances (%.2f%% of %d unique pairs)",
                split,
                100 * result["intent_error"],
                result["utterances"],
                100 * result["intent_error_unique"],
                result["unique_pairs"],
            )
    save_teacher(teacher, out_dir)
    atomic_write_text(out_dir / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics
