"""One generation layer for every adapter, the server and the local judge: batched, left-padded,
KV-cached, the run's pinned template, stop on the end-of-turn token, with an on-disk cache so a re-run
does not regenerate.

* Prompts are tokenized once and sorted by token length (longest first) before batching, so a batch
  carries little padding and an out-of-memory shows up in the first batch; results come back in input
  order. Duplicate prompts are generated once.
* Generation stops on the token training appends after every answer (``end_of_turn_ids``: the first
  special token of the template's encoded response, see ``mosaic.train.features``) and on EOS.
* The cache key is (checkpoint hash, template, rendered prompt, generation config). The cache is a JSONL
  appended one batch at a time with a single ``write`` and ``fsync``; a torn last line (a killed run) is
  skipped on load and closed before the next append, so a killed run leaves a readable cache.
  Precision is not in the key: the cache lives in one run's directory, whose precision is fixed.
* Sampling is seeded per batch from (seed, the batch's prompt tokens) in a forked RNG, so the same request
  in the same batch gives the same text and the global RNG is untouched.
* Optional top-k logprobs of the generated tokens (raw model distribution, before temperature/top-p),
  recorded step by step so memory stays at one vocabulary row per sequence, computed in fp32 (bf16
  logits are too coarse for logprob-weighted judges).
* bf16 autocast (CPUs that support it) is about 2x faster but makes greedy text depend slightly on the
  batch composition (rounding); fp32 greedy text is batch-invariant.

An optional vLLM backend (GPU machines) has the same interface.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from mosaic.data.templates import get_template
from mosaic.hardware import bf16_supported
from mosaic.stages import checkpoint_hash  # noqa: F401  (one definition; re-exported for adapters)

MAX_TOP_LOGPROBS = 20


@dataclass(frozen=True)
class GenerationConfig:
    max_new_tokens: int = 512
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 8
    # 50 is what Transformers (and so FastChat's gen_model_answer) samples with by default; 0 disables
    # (OpenAI semantics, used by the server). Only applies when sampling.
    top_k: int = 50
    stop: tuple[str, ...] = ()  # extra stop strings (cut from the text); the end-of-turn token always stops
    logprobs: int | None = None  # None: no logprobs; k >= 0: each generated token's logprob and the top k

    def __post_init__(self):
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif not isinstance(self.stop, tuple):
            object.__setattr__(self, "stop", tuple(self.stop))
        checks = [(self.max_new_tokens >= 1, "max_new_tokens must be >= 1"),
                  (self.temperature >= 0, "temperature must be >= 0"),
                  (0 < self.top_p <= 1, "top_p must be in (0, 1]"),
                  (self.batch_size >= 1, "batch_size must be >= 1"),
                  (self.top_k >= 0, "top_k must be >= 0"),
                  (all(isinstance(s, str) and s for s in self.stop), "stop must be non-empty strings"),
                  (self.logprobs is None or 0 <= self.logprobs <= MAX_TOP_LOGPROBS,
                   f"logprobs must be None or 0..{MAX_TOP_LOGPROBS}")]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"GenerationConfig: {message}")

    def key_fields(self) -> dict:
        """What changes the generated text. batch_size does not (up to float noise); fields added after the
        first caches were written enter the key only when set away from their default, so old caches stay valid."""
        d = asdict(self)
        d.pop("batch_size")
        for name, default in (("top_k", 50), ("stop", ()), ("logprobs", None)):
            if d[name] == default:
                d.pop(name)
        if "stop" in d:
            d["stop"] = list(d["stop"])
        return d


@dataclass(frozen=True)
class Completion:
    text: str
    n_tokens: int
    finish_reason: str  # "stop" (end-of-turn token or a stop string) or "length"
    # with GenerationConfig.logprobs, per generated token:
    # {"id", "token", "logprob", "top": [{"id", "token", "logprob"}, ...]}
    logprobs: list[dict] | None = field(default=None)

    def to_row(self) -> dict:
        row = asdict(self)
        if row["logprobs"] is None:
            row.pop("logprobs")
        return row

    @classmethod
    def from_row(cls, row: dict) -> "Completion":
        return cls(row["text"], row["n_tokens"], row["finish_reason"], row.get("logprobs"))


class JsonlStore:
    """Append-only JSONL that a killed process cannot corrupt: each append is one ``os.write`` on an
    O_APPEND descriptor followed by ``fsync``; unreadable lines (a torn tail) are skipped on load, and an
    append after a torn tail starts on a fresh line so the new rows stay readable."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path is not None else None
        self.lock = threading.Lock()

    def load(self) -> list[dict]:
        if self.path is None or not self.path.exists():
            return []
        rows = []
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    rows.append(row)
        return rows

    def append(self, rows: Sequence[dict]) -> None:
        if self.path is None or not rows:
            return
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # close a torn line left by a killed run
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)


class GenerationCache:
    """Completions by key; on disk when a path is given, in memory only otherwise (or not at all with
    ``memory=False``, for a long-lived server)."""

    def __init__(self, path: str | Path | None, memory: bool = True):
        self.store = JsonlStore(path)
        self.memory = memory or path is not None
        self.entries: dict[str, Completion] = {}
        for row in self.store.load():
            try:
                self.entries[row["key"]] = Completion.from_row(row)
            except (KeyError, TypeError):
                continue

    @property
    def path(self) -> Path | None:
        return self.store.path

    def get(self, key: str) -> Completion | None:
        return self.entries.get(key)

    def put(self, items: Sequence[tuple[str, Completion]]) -> None:
        if not self.memory:
            return
        for key, c in items:
            self.entries[key] = c
        self.store.append([{"key": k, **c.to_row()} for k, c in items])


def end_of_turn_ids(tok, template) -> list[int]:
    """The token training appends after every answer (the first special token of the template's encoded
    response, as ``mosaic.train.features`` builds it), then EOS if different: generation stops on these."""
    _, response = template.encode(tok, "Hi", "Hello")
    special = set(tok.all_special_ids)
    special |= {i for i, t in getattr(tok, "added_tokens_decoder", {}).items() if getattr(t, "special", False)}
    ids = [t for t in response if t in special][:1]
    if tok.eos_token_id is not None and tok.eos_token_id not in ids:
        ids.append(tok.eos_token_id)
    if not ids:
        raise ValueError(f"template {template.name!r} with tokenizer {tok.name_or_path!r} has no end-of-turn "
                         "token and the tokenizer no EOS: generation could never stop before max_new_tokens")
    return ids


class _Backend:
    """Shared by the Transformers and vLLM backends: rendering, cache keys, dedup, order, post-processing."""

    tok = None
    template = None
    checkpoint_id: str = ""
    cache: GenerationCache
    progress: bool = False

    def prompt(self, conversation: list[dict]) -> str:
        return self.template.render_chat(self.tok, conversation)

    def key(self, prompt: str, cfg: GenerationConfig, add_special_tokens: bool | None = None) -> str:
        parts = [self.checkpoint_id, self.template.name, prompt, cfg.key_fields()]
        if add_special_tokens is not None and add_special_tokens != self.template.prompt_special_tokens:
            parts.append({"add_special_tokens": add_special_tokens})
        return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()

    def generate(self, conversations: Sequence[list[dict]], cfg: GenerationConfig = GenerationConfig()
                 ) -> list[Completion]:
        """Assistant replies to chat conversations ({role, content} lists), in input order, text stripped."""
        out = self.generate_text([self.prompt(c) for c in conversations], cfg)
        return [Completion(c.text.strip(), c.n_tokens, c.finish_reason, c.logprobs) for c in out]

    def generate_text(self, prompts: Sequence[str], cfg: GenerationConfig = GenerationConfig(),
                      add_special_tokens: bool | None = None) -> list[Completion]:
        """Continuations of already-rendered prompts (text not stripped), in input order.
        ``add_special_tokens`` defaults to the template's rule (BOS unless the text carries its specials)."""
        special = self.template.prompt_special_tokens if add_special_tokens is None else add_special_tokens
        keys = [self.key(p, cfg, add_special_tokens) for p in prompts]
        todo: dict[str, str] = {}
        for k, p in zip(keys, prompts):
            if k not in todo and self.cache.get(k) is None:
                todo[k] = p
        done = self._run(todo, cfg, special) if todo else {}
        return [done.get(k) or self.cache.get(k) for k in keys]

    def _run(self, todo: dict[str, str], cfg: GenerationConfig, special: bool) -> dict[str, Completion]:
        raise NotImplementedError

    def _finish(self, ids: list[int], cfg: GenerationConfig, stopped: bool, logprobs: list[dict] | None
                ) -> Completion:
        """Text of the generated ids (end-of-turn excluded), cut at the first stop string if any."""
        text = self.tok.decode(ids, skip_special_tokens=True)
        hits = [(i, s) for i, s in ((text.find(s), s) for s in cfg.stop) if i >= 0]
        if hits:
            cut, s = min(hits, key=lambda h: (h[0], -len(h[1])))
            need = cut + len(s)  # keep the fewest tokens whose text covers the stop string (it was generated)
            lo, hi = 1, len(ids)
            while lo < hi:
                mid = (lo + hi) // 2
                if len(self.tok.decode(ids[:mid], skip_special_tokens=True)) >= need:
                    hi = mid
                else:
                    lo = mid + 1
            text, stopped, ids = text[:cut], True, ids[:lo]
            logprobs = logprobs[:lo] if logprobs is not None else None
        return Completion(text, len(ids), "stop" if stopped else "length", logprobs)


class Generator(_Backend):
    """Batched generation with a Transformers model already in memory.

    ``checkpoint_id``: ``checkpoint_hash(model_dir)`` for a saved model, any stable id for an in-memory one.
    ``bf16``: autocast on CPU; None = when the CPU supports it (``mosaic.hardware.bf16_supported``).
    ``use_cache=False`` keeps nothing (a long-lived server); duplicates within one call are still shared.
    """

    def __init__(self, model, tokenizer, template: str, checkpoint_id: str, cache_path: str | Path | None = None,
                 bf16: bool | None = None, progress: bool = True, use_cache: bool = True):
        self.model, self.tok, self.template = model.eval(), tokenizer, get_template(template)
        self.checkpoint_id, self.progress = checkpoint_id, progress
        on_cpu = self.model.device.type == "cpu"
        if bf16 is None:
            bf16 = bf16_supported()
        self.bf16 = bool(bf16) and on_cpu
        self.cache = GenerationCache(cache_path, memory=use_cache)
        self.model_calls = 0  # batches actually generated (tests count cache hits by it)
        self.stop_ids = end_of_turn_ids(self.tok, self.template)
        # left-padded positions are masked out, so the pad id only has to be a valid token (Llama-2 has none)
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.stop_ids[-1]

    def _run(self, todo: dict[str, str], cfg: GenerationConfig, special: bool) -> dict[str, Completion]:
        from tqdm import tqdm

        keys = list(todo)
        encoded = self.tok([todo[k] for k in keys], add_special_tokens=special)["input_ids"]
        ids = dict(zip(keys, encoded))
        order = sorted(keys, key=lambda k: -len(ids[k]))
        done: dict[str, Completion] = {}
        with tqdm(total=len(order), desc="generate", unit="prompt", disable=not self.progress) as bar:
            for i in range(0, len(order), cfg.batch_size):
                batch = order[i:i + cfg.batch_size]
                results = list(zip(batch, self._generate([ids[k] for k in batch], cfg)))
                self.cache.put(results)
                done.update(results)
                bar.update(len(batch))
        return done

    def pad(self, batch: list[list[int]]):
        """Left-padded input ids and attention mask: every row's last prompt token sits in the last column,
        so all rows start generating at the same step."""
        import torch

        width = max(len(x) for x in batch)
        input_ids = torch.tensor([[self.pad_id] * (width - len(x)) + x for x in batch], device=self.model.device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in batch], device=self.model.device)
        return input_ids, mask

    def _generate(self, batch: list[list[int]], cfg: GenerationConfig) -> list[Completion]:
        import torch

        self.model_calls += 1
        input_ids, mask = self.pad(batch)
        width = input_ids.shape[1]
        if cfg.temperature > 0:
            sampling = dict(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p, top_k=cfg.top_k)
        else:
            sampling = dict(do_sample=False, temperature=None, top_p=None, top_k=None)
        extra = {}
        recorder = None
        if cfg.logprobs is not None:
            from transformers import LogitsProcessorList

            recorder = _LogprobRecorder(max(cfg.logprobs, 1))
            extra["logits_processor"] = LogitsProcessorList([recorder])
        if cfg.stop:
            extra.update(stop_strings=list(cfg.stop), tokenizer=self.tok)
        # seeded by the batch's prompts, not its keys: asking for logprobs or stop strings samples the same text
        seed = int(hashlib.sha256(json.dumps([cfg.seed, batch]).encode()).hexdigest()[:8], 16)
        # logprob requests run in fp32: bf16 logits are quantised to ~0.1 nats, too coarse for a logprob judge
        with torch.random.fork_rng(devices=[]), torch.no_grad(), \
                torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16 and cfg.logprobs is None):
            torch.manual_seed(seed)
            out = self.model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=cfg.max_new_tokens,
                                      eos_token_id=self.stop_ids, pad_token_id=self.pad_id, use_cache=True,
                                      **sampling, **extra)
        new = out[:, width:]
        per_row = recorder.finish(new) if recorder is not None else None
        results = []
        for r, row in enumerate(new.tolist()):
            stop = next((i for i, t in enumerate(row) if t in self.stop_ids), None)
            tokens = row[:stop] if stop is not None else row
            lps = None
            if per_row is not None:
                lps = [self._logprob_entry(tid, lp, top, cfg.logprobs)
                       for tid, (lp, top) in zip(tokens, per_row[r])]
            results.append(self._finish(tokens, cfg, stop is not None, lps))
        return results

    def _logprob_entry(self, tid: int, lp: float, top: list[tuple[int, float]], k: int) -> dict:
        return {"id": tid, "token": self.tok.decode([tid]), "logprob": lp,
                "top": [{"id": j, "token": self.tok.decode([j]), "logprob": v} for j, v in top[:k]]}


class _LogprobRecorder:
    """A logits processor that leaves scores unchanged and records, per step, the top-k log-probabilities
    of the raw distribution (it runs before temperature/top-p warpers). The chosen token is only known at
    the next step (the last id of ``input_ids``), so one log-softmax row per sequence is kept at a time."""

    def __init__(self, k: int):
        self.k = k
        self.prev = None  # [B, V] log-probs of the previous step
        self.chosen: list = []  # per step [B] logprob of the token that was chosen
        self.top: list = []  # per step ([B, k] values, [B, k] ids)

    def __call__(self, input_ids, scores):
        import torch

        if self.prev is not None:
            self.chosen.append(self.prev.gather(1, input_ids[:, -1:]).squeeze(1))
        lp = torch.log_softmax(scores.float(), dim=-1)
        values, indices = torch.topk(lp, min(self.k, lp.shape[-1]), dim=-1)
        self.top.append((values, indices))
        self.prev = lp
        return scores

    def finish(self, new) -> list[list[tuple[float, list[tuple[int, float]]]]]:
        """Per row, per generated step: (logprob of the chosen token, [(id, logprob)] top-k)."""
        if self.prev is not None and len(self.chosen) < new.shape[1]:
            self.chosen.append(self.prev.gather(1, new[:, -1:]).squeeze(1))
        rows = []
        for b in range(new.shape[0]):
            rows.append([(float(self.chosen[s][b]), list(zip(self.top[s][1][b].tolist(), self.top[s][0][b].tolist())))
                         for s in range(new.shape[1])])
        return rows


class VLLMGenerator(_Backend):
    """The same interface over vLLM (GPU machines). vLLM is imported only here; without it this raises a
    clear error and the Transformers ``Generator`` is the backend."""

    def __init__(self, model_dir: str | Path, template: str, checkpoint_id: str | None = None,
                 cache_path: str | Path | None = None, use_cache: bool = True, **engine_kwargs):
        try:
            from vllm import LLM
        except ImportError:
            raise RuntimeError("the vLLM backend needs `pip install vllm` on a GPU machine; vllm is not "
                               "installed here, use the default Transformers backend (evaluation.generation."
                               "Generator)") from None
        self.llm = LLM(model=str(model_dir), **engine_kwargs)
        self.tok = self.llm.get_tokenizer()
        self.template = get_template(template)
        self.checkpoint_id = checkpoint_id or checkpoint_hash(model_dir)
        self.cache = GenerationCache(cache_path, memory=use_cache)
        self.stop_ids = end_of_turn_ids(self.tok, self.template)

    def _run(self, todo: dict[str, str], cfg: GenerationConfig, special: bool) -> dict[str, Completion]:
        from vllm import SamplingParams

        keys = list(todo)
        encoded = self.tok([todo[k] for k in keys], add_special_tokens=special)["input_ids"]
        params = SamplingParams(max_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
                                top_k=cfg.top_k if cfg.top_k > 0 else -1, seed=cfg.seed,
                                stop_token_ids=self.stop_ids, logprobs=cfg.logprobs)
        outs = self.llm.generate([{"prompt_token_ids": ids} for ids in encoded], params)
        done = {}
        for k, o in zip(keys, outs):
            gen = o.outputs[0]
            tokens = [t for t in gen.token_ids if t not in self.stop_ids]
            lps = None
            if cfg.logprobs is not None and gen.logprobs is not None:
                lps = []
                for tid, alts in zip(tokens, gen.logprobs):
                    ranked = sorted(alts.items(), key=lambda kv: -kv[1].logprob)[:cfg.logprobs]
                    lps.append({"id": tid, "token": self.tok.decode([tid]), "logprob": alts[tid].logprob,
                                "top": [{"id": j, "token": self.tok.decode([j]), "logprob": v.logprob}
                                        for j, v in ranked]})
            done[k] = self._finish(tokens, cfg, gen.finish_reason == "stop", lps)
        self.cache.put(list(done.items()))
        return done
