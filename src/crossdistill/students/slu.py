"""The SLU student: a (pre-trained, usually frozen) acoustic module under an intent module.

What the intent module reads is configurable (``intent_input``):

- ``"word_hidden"`` (default): the outputs of the word-level GRU layers, as Lugosch et al.'s released code
  does (``Model.forward`` -> ``PretrainedModel.compute_features``).
- ``"word_posteriors"``: the softmax of the frame-wise word classifier, paper 000's wording ("only the word
  posterior is utilized").

A frozen acoustic module is kept in eval mode (no dropout) even while the student trains, so its outputs
are a deterministic function of the audio and can be computed once and cached (:meth:`SLUStudent.encode`),
after which :meth:`SLUStudent.classify` trains only the intent module. Lugosch's code left dropout active in
its frozen layers; this is the one behavioural change, made so caching is exact.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from crossdistill.students.acoustic import AcousticConfig, AcousticModule, AcousticOutput
from crossdistill.students.configs import config_from_dict, config_to_dict, to_container
from crossdistill.students.intent import IntentConfig, IntentModule
from crossdistill.students.presets import acoustic_preset, intent_preset
from crossdistill.students.serialization import load_module_files, save_module_files

INTENT_INPUTS = ("word_hidden", "word_posteriors")
UNFREEZE_SCOPES = ("none", "word", "all")

# Batch keys SLUStudent.forward understands: the data layer's loaders (``crossdistill.data.loading``: the
# input under "waveform" or "features", its lengths under "lengths") and the acoustic-output cache.
INPUT_KEYS = {"waveform": "waveform", "features": "features"}
LENGTH_KEY = "lengths"
ENCODED_KEYS = ("encoded", "encoded_lengths")


@dataclass
class SLUConfig:
    """A whole student.

    Fields:
      acoustic: the acoustic module (front end, phoneme and word layers, classifiers).
      intent: the intent module (GRU size, supervised and auxiliary heads).
      intent_input: "word_hidden" or "word_posteriors" (see the module docstring).
    """

    acoustic: AcousticConfig = field(default_factory=AcousticConfig)
    intent: IntentConfig = field(default_factory=IntentConfig)
    intent_input: str = "word_hidden"


def slu_config_from_dict(data: Mapping[str, Any] | SLUConfig) -> SLUConfig:
    """Build an :class:`SLUConfig` from a dict or omegaconf node.

    An optional ``preset`` key (with optional ``frontend``) starts from that preset; the other keys are then
    merged into it recursively, e.g. ``{"preset": "default", "intent": {"heads": {"intent": 31}}}``.
    """
    if isinstance(data, SLUConfig):
        return data
    data = dict(to_container(data))
    preset = data.pop("preset", None)
    frontend = data.pop("frontend", None)
    if preset is None:
        if frontend is not None:
            data.setdefault("acoustic", {})["frontend"] = frontend
        return config_from_dict(SLUConfig, data, "student")
    base = config_to_dict(preset_config(preset, frontend=frontend or "sincnet"))
    return config_from_dict(SLUConfig, _deep_merge(base, data), "student")


def preset_config(
    name: str,
    frontend: str = "sincnet",
    n_phonemes: int = 40,
    n_words: int = 100,
    heads: Mapping[str, int] | None = None,
    aux_heads: Mapping[str, int] | None = None,
) -> SLUConfig:
    """Return the :class:`SLUConfig` of preset ``name`` ("tiny", "default", "lugosch")."""
    intent = intent_preset(name)
    intent.heads = dict(heads or {})
    intent.aux_heads = dict(aux_heads or {})
    return SLUConfig(acoustic=acoustic_preset(name, frontend, n_phonemes, n_words), intent=intent)


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict) and key not in ("heads", "aux_heads"):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class SLUStudent(nn.Module):
    """Acoustic module + intent module; ``forward(batch)`` returns ``{head name: logits (B, C)}``."""

    def __init__(self, config: SLUConfig) -> None:
        super().__init__()
        if config.intent_input not in INTENT_INPUTS:
            raise ValueError(f"intent_input must be one of {list(INTENT_INPUTS)}, got {config.intent_input!r}")
        self.config = config
        self.acoustic = AcousticModule(config.acoustic)
        self.intent = IntentModule(self.encoded_dim, config.intent)

    @classmethod
    def from_acoustic(
        cls,
        acoustic: AcousticModule,
        intent: IntentConfig,
        intent_input: str = "word_hidden",
        freeze: bool = True,
    ) -> SLUStudent:
        """Build a student around a pre-trained acoustic module (copied in), frozen unless ``freeze=False``."""
        config = SLUConfig(acoustic=copy.deepcopy(acoustic.config), intent=intent, intent_input=intent_input)
        student = cls(config)
        student.acoustic.load_state_dict(acoustic.state_dict())
        if freeze:
            student.freeze_acoustic()
        return student

    @property
    def encoded_dim(self) -> int:
        """Feature size of what the intent module reads."""
        if self.config.intent_input == "word_hidden":
            return self.acoustic.word_hidden_dim
        return self.config.acoustic.n_words

    @property
    def head_names(self) -> list[str]:
        return self.intent.head_names

    # --- freezing -------------------------------------------------------------------------------------

    @property
    def acoustic_frozen(self) -> bool:
        """True when no acoustic parameter is trained."""
        return not any(p.requires_grad for p in self.acoustic.parameters())

    def freeze_acoustic(self) -> None:
        """Stop training the acoustic module and switch it to eval mode (no dropout)."""
        self.acoustic.requires_grad_(False)
        self.acoustic.eval()

    def unfreeze_acoustic(self, scope: str = "all") -> None:
        """Train part of the acoustic module again.

        ``scope``: "word" unfreezes the word layers, as Lugosch's ``unfreezing_type=1``; "all" the whole module
        (``unfreezing_type=2`` once fully unfrozen); "none" freezes everything. Only parameters that the intent
        module's input depends on are unfrozen: the phoneme classifier never is, the word classifier only with
        ``intent_input="word_posteriors"``. A trainable parameter without a gradient would break DDP (unused
        parameters) and be shrunk by weight decay for nothing.

        With "word", the frozen lower layers run in train mode too (dropout active), as in Lugosch's code.
        """
        if scope not in UNFREEZE_SCOPES:
            raise ValueError(f"unfreeze scope must be one of {list(UNFREEZE_SCOPES)}, got {scope!r}")
        self.freeze_acoustic()
        if scope == "word":
            self.acoustic.word_layers.requires_grad_(True)
        elif scope == "all":
            self.acoustic.requires_grad_(True)
            self.acoustic.phoneme_classifier.requires_grad_(False)
        if scope != "none" and self.config.intent_input == "word_posteriors":
            self.acoustic.word_classifier.requires_grad_(True)
        else:
            self.acoustic.word_classifier.requires_grad_(False)
        if not self.acoustic_frozen:
            self.acoustic.train(self.training)

    def train(self, mode: bool = True) -> SLUStudent:
        super().train(mode)
        if self.acoustic_frozen:
            self.acoustic.eval()  # frozen outputs stay deterministic, hence cacheable
        return self

    # --- forward --------------------------------------------------------------------------------------

    def select_encoded(self, out: AcousticOutput) -> tuple[Tensor, Tensor]:
        """Return what the intent module reads from an acoustic output, with its lengths."""
        if self.config.intent_input == "word_hidden":
            return out.word_hidden, out.word_lengths
        return torch.softmax(out.word_logits, dim=-1), out.word_lengths

    def encode(self, inputs: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Run the acoustic module and return the intent module's input ``(B, T, D)`` and its lengths.

        Without gradient tracking when the acoustic module is frozen (nothing would use the graph).
        """
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.acoustic_frozen):
            return self.select_encoded(self.acoustic(inputs, lengths))

    def classify(self, encoded: Tensor, lengths: Tensor) -> dict[str, Tensor]:
        """Run the intent module on (possibly cached) acoustic outputs; returns head logits."""
        return self.intent(encoded, lengths)

    def forward(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Return ``{head: logits (B, C)}`` from a batch dict.

        Reads cached acoustic outputs (``encoded``, ``encoded_lengths``) when present; otherwise the front
        end's input as the data layer batches it: ``waveform`` (SincNet, ``(B, S)``) or ``features``
        (log-mel, ``(B, T, F)``), with ``lengths``.
        """
        if ENCODED_KEYS[0] in batch:
            return self.classify(batch[ENCODED_KEYS[0]], batch[ENCODED_KEYS[1]])
        keys = (INPUT_KEYS[self.acoustic.input_kind], LENGTH_KEY)
        missing = [key for key in keys if key not in batch]
        if missing:
            raise ValueError(
                f"batch lacks {missing} needed by the {self.config.acoustic.frontend} front end "
                f"(batch keys: {sorted(batch)})"
            )
        return self.classify(*self.encode(batch[keys[0]], batch[keys[1]]))

    # --- persistence ----------------------------------------------------------------------------------

    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> None:
        """Write ``model.safetensors`` + ``config.json`` (and ``extra`` JSON files) to ``directory``."""
        save_module_files(self, directory, {"kind": "slu", **config_to_dict(self.config)}, extra)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> SLUStudent:
        """Load a student written by :meth:`save_pretrained`."""
        config_dict, state = load_module_files(directory, expected_kind="slu")
        student = cls(config_from_dict(SLUConfig, config_dict, f"{directory}/config.json"))
        student.load_state_dict(state)
        return student


def build_student(config: Mapping[str, Any] | SLUConfig, acoustic_dir: str | Path | None = None) -> SLUStudent:
    """Build a student from a config (dict, omegaconf node or :class:`SLUConfig`).

    With ``acoustic_dir`` the acoustic module is loaded from that pre-trained directory (its saved config
    replaces ``config.acoustic``) and frozen.
    """
    config = slu_config_from_dict(config)
    if acoustic_dir is None:
        return SLUStudent(config)
    acoustic = AcousticModule.from_pretrained(acoustic_dir)
    return SLUStudent.from_acoustic(acoustic, config.intent, config.intent_input, freeze=True)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Return the number of (trainable) parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def replace_heads(config: SLUConfig, heads: Mapping[str, int], aux_heads: Mapping[str, int] | None = None) -> SLUConfig:
    """Return a copy of ``config`` with other supervised (and auxiliary) heads."""
    intent = dataclasses.replace(config.intent, heads=dict(heads), aux_heads=dict(aux_heads or {}))
    return dataclasses.replace(config, intent=intent)
