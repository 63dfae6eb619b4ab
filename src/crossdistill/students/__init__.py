"""Speech students: Lugosch et al. (2019)'s SLU model (SincNet or log-mel front end, phoneme and word
recurrent layers pre-trained on frame-wise targets, intent module with supervised and auxiliary heads)."""

from crossdistill.students.acoustic import AcousticConfig, AcousticModule, AcousticOutput
from crossdistill.students.frontends import LogMelConfig, LogMelFrontend, SincNetConfig, SincNetFrontend
from crossdistill.students.intent import (
    SLOT_HEADS,
    IntentConfig,
    IntentModule,
    supervised_heads,
    utterance_correct,
)
from crossdistill.students.presets import PRESETS, acoustic_preset, intent_preset
from crossdistill.students.slu import (
    INTENT_INPUTS,
    SLUConfig,
    SLUStudent,
    build_student,
    count_parameters,
    preset_config,
    replace_heads,
    slu_config_from_dict,
)

__all__ = [
    "INTENT_INPUTS",
    "PRESETS",
    "SLOT_HEADS",
    "AcousticConfig",
    "AcousticModule",
    "AcousticOutput",
    "IntentConfig",
    "IntentModule",
    "LogMelConfig",
    "LogMelFrontend",
    "SLUConfig",
    "SLUStudent",
    "SincNetConfig",
    "SincNetFrontend",
    "acoustic_preset",
    "build_student",
    "count_parameters",
    "intent_preset",
    "preset_config",
    "replace_heads",
    "slu_config_from_dict",
    "supervised_heads",
    "utterance_correct",
]
