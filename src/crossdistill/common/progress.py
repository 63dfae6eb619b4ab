"""Progress display that suits where the output goes: a bar on a terminal, nothing (or a line per epoch) in a log.

A progress bar redraws itself with carriage returns; written to a file or a CI log every redraw becomes a line, and a
training run writes thousands of them. So bars are drawn only when stderr (where tqdm writes) is a terminal, and
long runs print one summary line per epoch instead.
"""

from __future__ import annotations

import sys


def show_progress(requested: bool = True) -> bool:
    """Whether to draw a progress bar: when it is asked for and stderr is a terminal."""
    return bool(requested) and _stderr_is_terminal()


def _stderr_is_terminal() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())
