"""The text teacher of paper 000: a transcript -> intent (and slot) classifier whose outputs, entropy and
dropout confidence are cached per utterance for distillation into a speech student.

Typical use::

    corpus = load_corpus("corpus/")
    train_teacher(corpus, "teacher/", TrainOptions())                 # or: crossdistill teacher train
    build_teacher_cache("teacher/", corpus, CacheOptions())           # or: crossdistill teacher cache
    cache = load_teacher_cache("teacher/", corpus, CacheOptions())
    batch = cache.lookup(utt_ids)   # {"logits/intent": (B, 31), "entropy/intent": (B,), "confidence/intent": (B,)}
"""

from crossdistill.teachers.text.cache import (
    CacheOptions,
    TeacherCache,
    TeacherCacheError,
    build_teacher_cache,
    compute_cache_key,
    default_cache_dir,
    load_teacher_cache,
)
from crossdistill.teachers.text.encoders import DEFAULT_ENCODER, minilm_path, resolve_encoder
from crossdistill.teachers.text.examples import (
    TeacherDataError,
    TextExample,
    build_corpus_examples,
    build_examples,
    normalize_transcript,
)
from crossdistill.teachers.text.inference import compute_teacher_outputs, predict
from crossdistill.teachers.text.model import (
    TeacherConfig,
    TeacherLabelMismatch,
    TextTeacher,
    build_teacher,
    check_label_set,
    load_teacher,
    save_teacher,
)
from crossdistill.teachers.text.training import TrainOptions, evaluate_split, train_teacher

__all__ = [
    "DEFAULT_ENCODER",
    "CacheOptions",
    "TeacherCache",
    "TeacherCacheError",
    "TeacherConfig",
    "TeacherDataError",
    "TeacherLabelMismatch",
    "TextExample",
    "TextTeacher",
    "TrainOptions",
    "build_corpus_examples",
    "build_examples",
    "build_teacher",
    "build_teacher_cache",
    "check_label_set",
    "compute_cache_key",
    "compute_teacher_outputs",
    "default_cache_dir",
    "evaluate_split",
    "load_teacher",
    "load_teacher_cache",
    "minilm_path",
    "normalize_transcript",
    "predict",
    "resolve_encoder",
    "save_teacher",
    "train_teacher",
]
