"""Fixtures for the data tests: a writable copy of the tiny corpus and CSV helpers."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest


@pytest.fixture
def corpus_copy(tiny_corpus: Path, tmp_path: Path) -> Path:
    """A copy of the tiny corpus that a test may break."""
    return Path(shutil.copytree(tiny_corpus, tmp_path / "copy"))


def read_rows(csv_path: Path) -> list[list[str]]:
    """Return all rows of a CSV, header first."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(csv_path: Path, rows: list[list[str]]) -> None:
    """Write rows (header first) to a CSV."""
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def edit_cell(csv_path: Path, row: int, column: str, value: str) -> None:
    """Set ``column`` of data row ``row`` (0-based, header excluded) to ``value``."""
    rows = read_rows(csv_path)
    rows[row + 1][rows[0].index(column)] = value
    write_rows(csv_path, rows)


@pytest.fixture
def csv_edit():
    """The CSV helpers, for tests (test modules cannot import this conftest under importlib mode)."""
    return SimpleNamespace(read=read_rows, write=write_rows, cell=edit_cell)
