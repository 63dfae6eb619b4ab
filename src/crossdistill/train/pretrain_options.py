"""The options of acoustic pre-training: one definition, read by ``crossdistill pretrain``, the library function
(``crossdistill.train.pretrain.pretrain_acoustic``) and the experiments' shared setup.

Kept apart from the training code so that the command line can build its parser (and ``--help``) without importing
Lightning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class PretrainOptions:
    """One pre-training run (the ``crossdistill pretrain`` options).

    Fields:
      corpus: corpus root with alignments. out: output folder.
      preset: student size ("tiny", "default", "lugosch").
      frontend: "logmel" (default) or "sincnet". Paper 000's backbone (Lugosch et al.) reads the waveform with
        SincNet; log-mel is the default because on a 2-core CPU it pre-trained 1.5x faster at about the same frame
        accuracy (docs/student.md, "Measured frame accuracies"), and every experiment here uses it.
      epochs, batch_size, lr, seed: optimisation. max_utterances: cap per split (seeded subset).
      num_workers: DataLoader workers. cache_dir: log-mel feature cache root.
      accelerator, devices: Lightning's. progress: progress bars (drawn only on a terminal).
      threads: CPU threads for PyTorch (None: PyTorch's default, one per core). On a machine shared with
        other jobs, 1 avoids thread oversubscription, which can slow these small recurrent models tenfold.
      specaugment: mask the training batches' log-mels (``crossdistill.train.specaugment``; not in paper 000, off by
        default; log-mel front end only).
    """

    corpus: str
    out: str
    preset: str = "default"
    frontend: str = "logmel"
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    seed: int = 0
    max_utterances: int | None = None
    num_workers: int = 0
    cache_dir: str | None = None
    accelerator: str = "auto"
    devices: int = 1
    progress: bool = True
    threads: int | None = None
    specaugment: bool = False

    def __post_init__(self) -> None:
        from crossdistill.students.frontends import FRONTENDS
        from crossdistill.students.presets import PRESETS

        if self.preset not in PRESETS:
            raise ValueError(f"--preset {self.preset!r} is unknown; choose one of {', '.join(PRESETS)}")
        if self.frontend not in FRONTENDS:
            raise ValueError(f"--frontend {self.frontend!r} is unknown; choose one of {', '.join(FRONTENDS)}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.max_utterances is not None and self.max_utterances < 1:
            raise ValueError(f"--max-utterances must be at least 1, got {self.max_utterances}")
        if self.specaugment and self.frontend != "logmel":
            raise ValueError(f"--specaugment masks log-mel features; the {self.frontend} front end reads the waveform")

    def identity(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run it continues (``epochs`` may grow)."""
        keep = ("preset", "frontend", "batch_size", "lr", "seed", "max_utterances")
        identity = {key: getattr(self, key) for key in keep}
        if self.specaugment:  # only when on: runs made before the option existed keep their identity
            identity["specaugment"] = True
        return identity
