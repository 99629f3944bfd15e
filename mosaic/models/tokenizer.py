"""Resolve ``--tokenizer NAME_OR_PATH`` to a fast tokenizer, offline-first.

:func:`load_tokenizer` gives a Transformers tokenizer (training, generation). :func:`load_counting_tokenizer`
gives what counting tokens needs: a local ``tokenizer.json`` (or a directory holding one) is read with
``tokenizers`` alone, without importing Torch or Transformers, and counts exactly as the Transformers
tokenizer does; anything else (a Hub id, a model-specific tokenizer class) goes through Transformers.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from . import smollm2

ALIASES = {
    "smollm2": smollm2.tokenizer_dir,
    "smollm2-135m-instruct": smollm2.tokenizer_dir,
    "HuggingFaceTB/SmolLM2-135M-Instruct": smollm2.tokenizer_dir,
}


class TokenizerUnavailable(RuntimeError):
    pass


def resolve(name_or_path: str) -> Path | str:
    """A built-in name's directory, an existing local path, or the string itself (a Hub id)."""
    if name_or_path in ALIASES:
        return ALIASES[name_or_path]()
    path = Path(name_or_path).expanduser()
    return path if path.exists() else name_or_path


@lru_cache(maxsize=4)
def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    path = resolve(name_or_path)
    try:
        tok = AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as e:
        raise TokenizerUnavailable(
            f"cannot load tokenizer {name_or_path!r}: {e}\nUse a local directory with tokenizer files, "
            f"one of the built-in names {sorted(ALIASES)}, or download the Hub tokenizer on a machine "
            f"with access (`hf download {name_or_path} --local-dir DIR`) and pass DIR.") from e
    if not getattr(tok, "is_fast", False):
        raise TokenizerUnavailable(f"tokenizer {name_or_path!r} is not a fast (Rust) tokenizer; "
                                   "batch counting needs one")
    return tok


@lru_cache(maxsize=4)
def load_counting_tokenizer(name_or_path: str):
    """A tokenizer for counting and prompt templates: ``tokenizers`` only where that counts the same."""
    from .local_tokenizer import load_local

    path = resolve(name_or_path)
    local = load_local(path) if isinstance(path, Path) else None
    return local if local is not None else load_tokenizer(name_or_path)


def tokenizer_id(tok) -> str:
    """A readable identity for provenance: the path or hub id it was loaded from."""
    return str(getattr(tok, "name_or_path", "")) or type(tok).__name__
