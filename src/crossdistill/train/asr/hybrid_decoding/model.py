"""What decoding and alignment read from a hybrid AM run: the model, its senone priors and its senone tree.

``load_hybrid_scorer(run)`` takes a run folder of ``crossdistill asr train`` (recipe ``hybrid``) or its ``model/``
folder. From it: ``model/config.json`` + ``model.safetensors`` (the AM), ``model/priors.npz`` (``log_priors``:
log senone priors from the training split's alignments, add-one smoothed), and the units folder recorded in the
model's metadata (``units_dir``; ``units`` overrides it), whose ``senone_tree.txt`` maps senones to phone states
and triphone contexts. ``load_trained_hybrid`` checks that the units folder is the one the model was trained on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossdistill.data.asr.units import load_units
from crossdistill.data.asr.units.tree import SenoneTree
from crossdistill.students.asr import HybridAcousticModel
from crossdistill.students.serialization import CONFIG_FILE
from crossdistill.train.asr.hybrid import MODEL_DIR, load_trained_hybrid


@dataclass(frozen=True)
class HybridScorer:
    """A trained hybrid AM ready to score frames.

    Fields:
      model: the AM (eval mode). log_priors: (K,) float64 log senone priors. tree: the senone tree of its units.
      units_dir: that units folder. run_dir: where reports are written (the run folder, or the model folder when
      that was given).
    """

    model: HybridAcousticModel
    log_priors: np.ndarray
    tree: SenoneTree
    units_dir: Path
    run_dir: Path


def load_hybrid_scorer(run: str | os.PathLike, units: str | os.PathLike | None = None) -> HybridScorer:
    """Read a hybrid AM run (see the module docstring); errors name the missing or mismatched file."""
    run = Path(run)
    if not run.is_dir():
        raise FileNotFoundError(f"--model {run} is not a folder (a `crossdistill asr train` run or its model/)")
    model_dir = run / MODEL_DIR if (run / MODEL_DIR).is_dir() else run
    if not (model_dir / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{model_dir / CONFIG_FILE} not found: {run} holds no trained hybrid AM")
    if units is None:
        units = json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8")).get("units_dir")
        if units is None:
            raise ValueError(f"{model_dir / CONFIG_FILE} records no units folder (units_dir); give one with --units")
    trained = load_trained_hybrid(run, units)
    tree = load_units(units).senone_tree()
    if len(tree.leaves()) != trained.log_priors.shape[0]:
        raise ValueError(
            f"{units}/senone_tree.txt has {len(tree.leaves())} senones, the model {trained.log_priors.shape[0]}"
        )
    return HybridScorer(
        model=trained.model,
        log_priors=trained.log_priors.double().numpy(),
        tree=tree,
        units_dir=Path(units),
        run_dir=run,
    )
