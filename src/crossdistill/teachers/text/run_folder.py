"""Where a teacher is trained: a work folder beside ``--out`` that survives a kill, so the same command resumes.

A teacher is built in ``.<out>.partial/`` and moved to ``<out>`` only when complete. At the end of every epoch the
work folder gets ``checkpoint.pt``: weights, optimizer and schedule, the shuffling generator, the global random state,
the history and the best epoch so far (its weights in ``best.pt``). A run started again with the same settings and
data continues after the last finished epoch and ends exactly where an uninterrupted run ends; ``train.log`` is
appended to. A finished teacher in ``<out>`` with the same settings and data is returned as it is.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import torch

from crossdistill.common import atomic_path, atomic_write_text, fingerprint
from crossdistill.common.atomic import replace_folder

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
CHECKPOINT_FILE = "checkpoint.pt"
BEST_FILE = "best.pt"
METRICS_FILE = "metrics.json"


def work_folder(out_dir: Path) -> Path:
    """The folder a teacher for ``out_dir`` is built in (a hidden sibling with a stable name, so a rerun finds it)."""
    return out_dir.parent / f".{out_dir.name}.partial"


def finished_teacher(out_dir: Path, identity: dict[str, Any], overwrite: bool) -> dict | None:
    """The metrics of the finished teacher in ``out_dir`` if it was trained with ``identity`` (and not
    ``overwrite``); None when a teacher is to be trained; raises when ``out_dir`` holds something else."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} exists and is not a directory")
    if not out_dir.is_dir() or not any(out_dir.iterdir()) or overwrite:
        return None
    metrics_path = out_dir / METRICS_FILE
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        if metrics.get("identity") == identity:
            log.info("%s already holds this teacher (same settings and data); nothing to do", out_dir)
            return metrics
    raise ValueError(f"--out {out_dir} exists and is not empty; choose another folder or pass --overwrite")


def prepare_work_folder(out_dir: Path, identity: dict[str, Any]) -> Path:
    """The work folder for ``identity``: the interrupted run's if it has the same identity, else a new one."""
    work = work_folder(out_dir)
    run_file = work / RUN_FILE
    if work.is_dir():
        previous = json.loads(run_file.read_text(encoding="utf-8")) if run_file.is_file() else None
        if previous == identity:
            return work
        log.warning("removing %s: an interrupted teacher run with other settings or data", work)
        shutil.rmtree(work)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir()
    atomic_write_text(run_file, json.dumps(identity, indent=2, sort_keys=True) + "\n")
    return work


def save_checkpoint(work: Path, state: dict[str, Any], best_state: dict[str, torch.Tensor] | None) -> None:
    """Write the end-of-epoch state (atomically); ``best_state``, when given, is the new best epoch's weights."""
    if best_state is not None:
        with atomic_path(work / BEST_FILE) as tmp:
            torch.save(best_state, tmp)
    with atomic_path(work / CHECKPOINT_FILE) as tmp:
        torch.save(state, tmp)


def load_checkpoint(work: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]] | None:
    """The last end-of-epoch state and the best weights, or None when no epoch has finished."""
    if not (work / CHECKPOINT_FILE).is_file():
        return None
    state = torch.load(work / CHECKPOINT_FILE, map_location="cpu", weights_only=True)
    best = torch.load(work / BEST_FILE, map_location="cpu", weights_only=True)
    return state, best


def move_into_place(work: Path, out_dir: Path) -> None:
    """Drop the checkpoints and replace ``out_dir`` by the finished work folder."""
    for name in (CHECKPOINT_FILE, BEST_FILE, RUN_FILE):
        (work / name).unlink(missing_ok=True)
    replace_folder(work, out_dir)


def run_identity(options: dict[str, Any], examples: dict[str, list]) -> dict[str, Any]:
    """What a resumed or skipped run must share with the run it stands for: the options that change the result and
    a fingerprint of the training data (every split's unique transcripts, labels and counts)."""
    data = {split: [[e.text, e.intent, list(e.slots), e.count] for e in rows] for split, rows in examples.items()}
    return {"options": options, "data": fingerprint(data)}
