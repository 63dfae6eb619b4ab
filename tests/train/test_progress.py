"""Progress suits where it goes: a bar on a terminal, one line per epoch in a log or a pipe."""

from __future__ import annotations

import sys
from pathlib import Path

from lightning.pytorch.callbacks import TQDMProgressBar

from crossdistill.cli import main
from crossdistill.train.progress import EpochLine, progress_callbacks

CONFIGS = Path(__file__).parents[2] / "configs" / "table1"


class _Terminal:
    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def test_a_bar_on_a_terminal_and_epoch_lines_elsewhere(monkeypatch):
    bar, callbacks = progress_callbacks(True, ("valid/error",))  # pytest's stderr is not a terminal
    assert bar is False and [type(c) for c in callbacks] == [EpochLine]
    assert progress_callbacks(False, ("valid/error",)) == (False, [])
    monkeypatch.setattr(sys, "stderr", _Terminal())
    bar, callbacks = progress_callbacks(True, ("valid/error",))
    assert bar is True and [type(c) for c in callbacks] == [TQDMProgressBar]


def test_training_into_a_log_writes_one_line_per_epoch(pipeline, tmp_path, capsys):
    overrides = [o for o in pipeline.overrides(tmp_path / "run", epochs=3) if not o.startswith("trainer.progress_bar")]
    assert main(["train", "--config", str(CONFIGS / "vanilla.yaml"), *overrides]) == 0  # stderr is captured here
    stderr = capsys.readouterr().err
    epoch_lines = [line for line in stderr.splitlines() if line.startswith("epoch ")]
    assert [line.split(" ", 2)[1] for line in epoch_lines] == ["1/3", "2/3", "3/3"]
    assert "valid/error" in epoch_lines[0] and "\r" not in stderr
    assert len(stderr.splitlines()) < 30, stderr  # no bar redraws
