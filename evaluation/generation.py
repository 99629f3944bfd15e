"""One generation layer for every adapter: batched, left-padded, KV-cached, the run's pinned template,
stop on the end-of-turn token, with an on-disk cache so a re-run does not regenerate.

Prompts are sorted by length before batching (less padding) and results come back in input order.
The cache key is (checkpoint hash, template, rendered prompt, generation config); the cache is a JSONL
appended one batch at a time, and a torn last line (a killed run) is ignored on load. Sampling is
seeded per batch from (seed, the batch's keys), so the same request gives the same text.
An optional vLLM backend (GPU machines) has the same interface.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch


@dataclass(frozen=True)
class GenerationConfig:
    max_new_tokens: int = 512
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 8

    def key_fields(self) -> dict:
        d = asdict(self)
        d.pop("batch_size")  # does not change what is generated (up to float noise)
        return d


@dataclass(frozen=True)
class Completion:
    text: str
    n_tokens: int
    finish_reason: str  # "stop" (end-of-turn token) or "length"


def checkpoint_hash(directory: str | Path) -> str:
    """SHA-256 over the weight and config files of a saved model (names and bytes)."""
    directory = Path(directory)
    files = sorted(p for p in directory.iterdir() if p.suffix in (".safetensors", ".bin", ".json") and p.is_file())
    if not any(p.suffix in (".safetensors", ".bin") for p in files):
        raise FileNotFoundError(f"{directory}: no model weights (*.safetensors or *.bin)")
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0")
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()[:20]


class GenerationCache:
    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, dict] = {}
        if path is not None and path.exists():
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # torn last line of a killed run
                    self.entries[row["key"]] = row

    def get(self, key: str) -> Completion | None:
        row = self.entries.get(key)
        return Completion(row["text"], row["n_tokens"], row["finish_reason"]) if row else None

    def put(self, items: Sequence[tuple[str, Completion]]) -> None:
        for key, c in items:
            self.entries[key] = {"key": key, **asdict(c)}
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write("".join(json.dumps({"key": k, **asdict(c)}, ensure_ascii=False) + "\n" for k, c in items))
            fh.flush()
            os.fsync(fh.fileno())


class Generator:
    """Batched generation with a Transformers model already in memory."""

    def __init__(self, model, tokenizer, template: str, checkpoint_id: str, cache_path: Path | None = None,
                 bf16: bool = False, progress: bool = True):
        from mosaic.data.templates import get_template

        self.model, self.tok, self.template = model.eval(), tokenizer, get_template(template)
        self.checkpoint_id, self.bf16, self.progress = checkpoint_id, bf16, progress
        self.cache = GenerationCache(cache_path)
        self.model_calls = 0  # batches actually generated (tests count cache hits by it)
        if self.tok.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; left padding needs one")
        self.stop_ids = [self.tok.eos_token_id]

    def prompt(self, conversation: list[dict]) -> str:
        return self.template.render_chat(self.tok, conversation)

    def key(self, prompt: str, cfg: GenerationConfig) -> str:
        blob = json.dumps([self.checkpoint_id, self.template.name, prompt, cfg.key_fields()], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def generate(self, conversations: Sequence[list[dict]], cfg: GenerationConfig = GenerationConfig()
                 ) -> list[Completion]:
        from tqdm import tqdm

        prompts = [self.prompt(c) for c in conversations]
        keys = [self.key(p, cfg) for p in prompts]
        todo = sorted({k: p for k, p in zip(keys, prompts) if self.cache.get(k) is None}.items(),
                      key=lambda kp: -len(kp[1]))
        batches = [todo[i:i + cfg.batch_size] for i in range(0, len(todo), cfg.batch_size)]
        for batch in tqdm(batches, desc="generate", unit="batch", disable=not self.progress or not batches):
            self.cache.put(list(zip([k for k, _ in batch], self._generate([p for _, p in batch], cfg,
                                                                          [k for k, _ in batch]))))
        return [self.cache.get(k) for k in keys]

    @torch.no_grad()
    def _generate(self, prompts: list[str], cfg: GenerationConfig, keys: list[str]) -> list[Completion]:
        self.model_calls += 1
        enc = self.tok(prompts, return_tensors="pt", padding=True, padding_side="left",
                       add_special_tokens=self.template.prompt_special_tokens)
        sample = cfg.temperature > 0
        torch.manual_seed(int(hashlib.sha256(f"{cfg.seed}:{','.join(keys)}".encode()).hexdigest()[:8], 16))
        kwargs = dict(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p) if sample else \
            dict(do_sample=False, temperature=None, top_p=None, top_k=None)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16 and self.model.device.type == "cpu"):
            out = self.model.generate(**enc, max_new_tokens=cfg.max_new_tokens, eos_token_id=self.stop_ids,
                                      pad_token_id=self.tok.pad_token_id, use_cache=True, **kwargs)
        new = out[:, enc["input_ids"].shape[1]:]
        results = []
        for row in new.tolist():
            stop = next((i for i, t in enumerate(row) if t in self.stop_ids), None)
            tokens = row[:stop] if stop is not None else row
            results.append(Completion(self.tok.decode(tokens, skip_special_tokens=True).strip(), len(tokens),
                                      "stop" if stop is not None else "length"))
        return results


class VLLMGenerator:
    """The same interface over vLLM (GPU machines). Imported only when used."""

    def __init__(self, model_dir: str | Path, template: str, checkpoint_id: str | None = None,
                 cache_path: Path | None = None, **engine_kwargs):
        try:
            from vllm import LLM
        except ImportError:
            raise RuntimeError("the vLLM backend needs `pip install vllm` on a GPU machine; "
                               "the default Transformers backend works everywhere") from None
        from mosaic.data.templates import get_template

        self.llm = LLM(model=str(model_dir), **engine_kwargs)
        self.tok = self.llm.get_tokenizer()
        self.template = get_template(template)
        self.checkpoint_id = checkpoint_id or checkpoint_hash(model_dir)
        self.cache = GenerationCache(cache_path)

    prompt = Generator.prompt
    key = Generator.key

    def generate(self, conversations, cfg: GenerationConfig = GenerationConfig()) -> list[Completion]:
        from vllm import SamplingParams

        prompts = [self.prompt(c) for c in conversations]
        keys = [self.key(p, cfg) for p in prompts]
        todo = {k: p for k, p in zip(keys, prompts) if self.cache.get(k) is None}
        if todo:
            params = SamplingParams(max_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
                                    seed=cfg.seed, stop_token_ids=[self.tok.eos_token_id])
            outs = self.llm.generate(list(todo.values()), params)
            self.cache.put([(k, Completion(o.outputs[0].text.strip(), len(o.outputs[0].token_ids),
                                           "stop" if o.outputs[0].finish_reason == "stop" else "length"))
                            for k, o in zip(todo, outs)])
        return [self.cache.get(k) for k in keys]
