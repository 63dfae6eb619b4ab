"""Per-utterance test correctness of a run's selected model: what the report's utterance-level test pairs up.

A run writes ``test_correctness.csv`` (columns ``utt_id``, ``correct`` as 0/1, in the test split's order) before
its ``metrics.json``, so every finished run has one; runs finished before it existed do not, and the report says
the utterance-level test is unavailable for them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from crossdistill.common import atomic_write_text
from crossdistill.students.intent import utterance_correct
from crossdistill.train.intent_data import batch_targets

TEST_CORRECTNESS_FILE = "test_correctness.csv"


@torch.no_grad()
def utterance_correctness(
    student: torch.nn.Module, dataset: Dataset, collate: Callable, supervised: str, batch_size: int = 64
) -> dict[str, bool]:
    """``{utt_id: correct}`` for every item of ``dataset``, in its order (eval mode; the mode is restored)."""
    was_training = student.training
    student.eval()
    device = next(student.parameters()).device
    result: dict[str, bool] = {}
    try:
        for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate):
            batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
            correct = utterance_correct(student(batch), batch_targets(batch, supervised))
            result.update(zip(batch["utt_id"], correct.tolist(), strict=True))
    finally:
        student.train(was_training)
    return result


def write_test_correctness(path: Path, correctness: dict[str, bool]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["utt_id", "correct"])
    writer.writerows((utt_id, int(ok)) for utt_id, ok in correctness.items())
    atomic_write_text(path, buffer.getvalue())


def read_test_correctness(path: Path) -> dict[str, bool]:
    """Read a ``test_correctness.csv``; a malformed file is an error naming it and the row."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0] != ["utt_id", "correct"]:
        raise ValueError(f"{path}: expected the header utt_id,correct")
    result = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or row[1] not in ("0", "1") or row[0] in result:
            raise ValueError(f"{path}, row {number}: expected a new utt_id and 0 or 1, got {row}")
        result[row[0]] = row[1] == "1"
    return result
