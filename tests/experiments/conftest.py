"""A miniature Table I grid config: two cells, two epochs, tiny intent module."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIGS = Path(__file__).parents[2] / "configs" / "table1"


@pytest.fixture
def mini_grid(tmp_path: Path) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(
        "base:\n  epochs: 2\n  batch_size: 16\n  threads: 1\n  intent: {hidden: 16}\n"
        "  trainer: {progress_bar: false, accelerator: cpu}\n"
        f"cells:\n  vanilla: {CONFIGS / 'vanilla.yaml'}\n"
        f"  dropout_x_triangular: {CONFIGS / 'dropout_x_triangular.yaml'}\n"
    )
    return path
