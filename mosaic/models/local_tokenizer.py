"""A local ``tokenizer.json`` loaded with the ``tokenizers`` library alone (no Torch, no Transformers).

Counting tokens needs only the Rust tokenizer, its special-token strings and, for the
``chat_template`` prompt format, its chat template. :func:`load_local` returns a
:class:`LocalTokenizer` when loading the files verbatim gives exactly what
``transformers.AutoTokenizer`` would build from them, and ``None`` when Transformers would change
the tokenizer on load (a model-specific tokenizer class, BOS/EOS flags that rebuild the
post-processor, special tokens missing from the file); the caller then uses Transformers.
"""
from __future__ import annotations

import json
from pathlib import Path

SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
# Classes that AutoTokenizer instantiates without rebuilding the backend from the file.
VERBATIM_CLASSES = (None, "TokenizersBackend", "PreTrainedTokenizerFast")


def _content(token) -> str | None:
    if isinstance(token, dict):
        return token.get("content")
    return token if isinstance(token, str) else None


class LocalTokenizer:
    """The subset of a Transformers fast tokenizer that token counting and prompt templates use."""

    is_fast = True

    def __init__(self, backend, name_or_path: str, config: dict, chat_template: str | None):
        self.backend_tokenizer = backend
        self.name_or_path = name_or_path
        self.chat_template = chat_template
        self.special_tokens_map = {k: _content(config[k]) for k in SPECIAL_KEYS if _content(config.get(k))}
        for key in SPECIAL_KEYS:
            setattr(self, key, self.special_tokens_map.get(key))
        self._render = None

    def __repr__(self) -> str:
        return f"LocalTokenizer({self.name_or_path!r})"

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict:
        enc = self.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens)
        return {"input_ids": enc.ids, "attention_mask": enc.attention_mask}

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return self.backend_tokenizer.encode(text, add_special_tokens=add_special_tokens).ids

    def token_to_id(self, token: str | None) -> int | None:
        return None if token is None else self.backend_tokenizer.token_to_id(token)

    @property
    def eos_token_id(self) -> int | None:
        return self.token_to_id(self.eos_token)

    @property
    def pad_token_id(self) -> int | None:
        return self.token_to_id(self.pad_token)

    def apply_chat_template(self, messages: list[dict], tokenize: bool = False,
                            add_generation_prompt: bool = False, **kwargs) -> str:
        """Render ``messages`` as Transformers does (same Jinja environment and variables); text only."""
        if tokenize:
            raise ValueError("LocalTokenizer.apply_chat_template renders text only (tokenize=False)")
        if self.chat_template is None:
            raise ValueError(f"tokenizer {self.name_or_path!r} has no chat template; use template 'vicuna_v1.1'")
        if self._render is None:
            from .chat_template import compile_template

            self._render = compile_template(self.chat_template)
        messages = [{k: v for k, v in m.items() if v is not None} for m in messages]
        return self._render(messages=messages, add_generation_prompt=add_generation_prompt,
                            **{**self.special_tokens_map, **kwargs})


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _chat_template(directory: Path, config: dict) -> str | None:
    jinja = directory / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    tpl = config.get("chat_template")
    if isinstance(tpl, list):  # named templates: Transformers uses "default"
        tpl = {t.get("name"): t.get("template") for t in tpl}.get("default")
    return tpl if isinstance(tpl, str) else None


def _verbatim(directory: Path, config: dict, backend) -> bool:
    """Whether AutoTokenizer would use the file as it is (see ``TokenizersBackend.__init__``)."""
    if not config and (directory / "config.json").is_file():
        return False  # AutoTokenizer would pick a model-specific class from config.json
    if config.get("tokenizer_class") not in VERBATIM_CLASSES:
        return False
    if "add_bos_token" in config or "add_eos_token" in config or config.get("split_special_tokens"):
        return False  # the post-processor or special-token handling is rebuilt on load
    if backend.post_processor is None and config:
        return False
    added = {t.content for t in backend.get_added_tokens_decoder().values()}
    extra = config.get("extra_special_tokens") or config.get("additional_special_tokens") or []
    extra = list(extra.values()) if isinstance(extra, dict) else list(extra)
    wanted = [config.get(k) for k in SPECIAL_KEYS] + extra + list((config.get("added_tokens_decoder") or {}).values())
    if not {_content(t) for t in wanted} - {None} <= added:
        return False  # Transformers would add these tokens, changing how texts holding them split
    return not (backend.get_vocab_size(with_added_tokens=False) > 100_000
                and "mistral" in json.dumps(_read_json(directory / "config.json")).lower())


def load_local(path: str | Path) -> LocalTokenizer | None:
    """A :class:`LocalTokenizer` for a ``tokenizer.json`` file or a directory holding one, or ``None``
    when the path has none or Transformers would load it differently."""
    path = Path(path)
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file() or file.suffix != ".json":
        return None
    directory = file.parent
    config = _read_json(directory / "tokenizer_config.json") if file.name == "tokenizer.json" else {}
    from tokenizers import Tokenizer

    try:
        backend = Tokenizer.from_file(str(file))
    except Exception:  # not a tokenizers serialization
        return None
    if file.name == "tokenizer.json" and not _verbatim(directory, config, backend):
        return None
    if backend.truncation is None:
        backend.no_truncation()
    backend.encode_special_tokens = False
    return LocalTokenizer(backend, str(path), config, _chat_template(directory, config) if config else None)
