"""Resolve ``--tokenizer NAME_OR_PATH`` to a fast Transformers tokenizer, offline-first."""
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


@lru_cache(maxsize=4)
def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    if name_or_path in ALIASES:
        path = ALIASES[name_or_path]()
    else:
        path = Path(name_or_path).expanduser()
        if not path.exists():
            path = name_or_path  # a Hub id
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


def tokenizer_id(tok) -> str:
    """A readable identity for provenance: the path or hub id it was loaded from."""
    return str(getattr(tok, "name_or_path", "")) or type(tok).__name__
