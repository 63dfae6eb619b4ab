"""What a paper-001 benchmark keeps beside its runs: each run's planned config, the grid's settings, the commits
the code ran at, and the wall time per stage (summed over restarts; a stage killed part-way counts up to its last
finished run). Table 1 uses it, and the Fig. 3 sweep too."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from crossdistill.common import atomic_write_text

REPOSITORY = Path(__file__).resolve().parents[4]
# Settings of the shared setup that change only the speed (processes and threads), never a benchmark's results.
EXECUTION_SETUP_KEYS = ("jobs", "threads")


def write_planned_configs(texts: Mapping[Path, str]) -> None:
    """Write each run's resolved config (``{config path: YAML text}``; the run folder is the path without its suffix)
    unless it is there already; every one is compared first, and a run planned with other settings is refused (its
    folder would resume or skip a different run)."""
    for path, text in texts.items():
        if path.is_file() and path.read_text(encoding="utf-8") != text:
            raise ValueError(
                f"{path} was planned with other settings; use a new --out or remove it and {path.with_suffix('')}"
            )
    for path, text in texts.items():
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, text)


def read_state(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def record_settings(path: Path, identity: dict[str, Any], settings: dict[str, Any], what: str) -> None:
    """Keep ``identity`` (the settings that define the results, refused when the file holds others) and ``settings``
    (all of them) in the state file ``path``, and add the commit the code runs at."""
    state = read_state(path)
    previous = state.get("identity")
    if previous is not None and previous != identity:
        changed = [key for key in identity if previous.get(key) != identity[key]]
        raise ValueError(
            f"{path.parent} holds a {what} with other settings ({', '.join(changed)} differ); use a new --out"
        )
    commits = state.get("commits", [])
    if (commit := code_commit()) not in commits:
        commits.append(commit)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({**state, "identity": identity, "settings": settings, "commits": commits},
                                       indent=2) + "\n")  # fmt: skip


def record_benchmark_settings(path: Path, settings: Any, identity_keys: Sequence[str], what: str) -> None:
    """``record_settings`` for a benchmark's settings dataclass (with a ``setup``): its identity is the plain JSON of
    ``identity_keys``, the setup's execution keys left out (more processes or threads never change a result)."""
    plain = json.loads(json.dumps(asdict(settings)))
    identity = json.loads(json.dumps({key: plain[key] for key in identity_keys}))
    for key in EXECUTION_SETUP_KEYS:
        identity.get("setup", {}).pop(key, None)
    record_settings(path, identity, plain, what)


def add_seconds(path: Path, stage: str, seconds: float) -> None:
    """Add ``seconds`` to the stage's wall time in the state file ``path``."""
    state = read_state(path)
    timings = state.setdefault("wall_seconds", {})
    timings[stage] = round(timings.get(stage, 0.0) + seconds, 1)
    atomic_write_text(path, json.dumps(state, indent=2) + "\n")


class StageClock:
    """A stage's wall time, credited to the state file at every ``tick`` (after each finished run, say), so a
    stage killed part-way keeps the time up to its last tick: only the unfinished run's time is lost."""

    def __init__(self, path: Path, stage: str) -> None:
        self.path, self.stage = path, stage
        self.mark = time.perf_counter()

    def tick(self) -> None:
        now = time.perf_counter()
        add_seconds(self.path, self.stage, now - self.mark)
        self.mark = now


def code_commit() -> str:
    """The repository's short commit, ``+uncommitted`` when tracked files differ from it; ``unknown`` outside git."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        head = subprocess.run(["git", "-C", str(REPOSITORY), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True, env=env).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(REPOSITORY), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, env=env).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+uncommitted" if dirty else "")
