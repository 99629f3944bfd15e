"""Stages of a run and their keys: prepare data -> train -> evaluate -> report.

Each stage's output lives in ``<runs_dir>/stages/<kind>/<key>/``, where the key is a hash of
everything the stage consumes (its inputs' contents, not their names). A stage whose directory
exists is finished and is reused; anything else is computed in ``.<key>.work/`` under a lock and
renamed into place when complete, so a failed, killed or concurrent run never changes a finished
stage. The work directory survives a kill (training resumes from it); temporaries a killed process
left there are removed when the next process claims it.

This module is the one place for the keys and the MLflow tags that store them (the query for "the
finished run with this key" is ``mosaic.tracking.find_finished``).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .augment.engine import TRANSFORM_VERSION
from .data import facts, verifiable
from .data.bundled import INSTRUCTIONS
from .data.sources import union_parts
from .data.hub import default_cache_dir
from .data.io import write_json
from .data.templates import get_template
from .hardware import eval_placement
from .models.tokenizer import load_tokenizer
from .secrets import redact
from .settings import ConfigError
from .train.config import train_config

STAGE_LAYOUT = "2"  # bumped when keys or directory layout change: stores of older layouts are not reused
TAG_LAYOUT, TAG_RUN_KEY, TAG_TRAIN_KEY, TAG_DATA_KEY, TAG_EVAL_KEY = (
    "stage_layout", "run_key", "train_key", "data_key", "eval_key")
MARKER = "stage.json"  # written last into a stage's work directory: its inputs and what it produced


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_digest(path: Path, h=None):
    h = h or hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h


def tree_sha256(path: str | Path, pattern: str = "*") -> str:
    """SHA-256 over a file, or over the relative names and bytes of every file below a directory (those whose
    name matches ``pattern``: ``"*.py"`` hashes a package's sources without its bytecode caches)."""
    path = Path(path)
    if path.is_file():
        return file_digest(path).hexdigest()
    h = hashlib.sha256()
    for p in sorted(q for q in path.rglob(pattern) if q.is_file()):
        h.update(str(p.relative_to(path)).encode() + b"\0")
        file_digest(p, h)
    return h.hexdigest()


def checkpoint_hash(directory: str | Path) -> str:
    """SHA-256 over the weight and config files of a saved model (names and bytes)."""
    directory = Path(directory)
    files = sorted(p for p in directory.iterdir() if p.suffix in (".safetensors", ".bin", ".json") and p.is_file())
    if not any(p.suffix in (".safetensors", ".bin") for p in files):
        raise FileNotFoundError(f"{directory}: no model weights (*.safetensors or *.bin)")
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0")
        file_digest(p, h)
    return h.hexdigest()[:20]


# ----------------------------------------------------------------------------------------------- keys

def source_fingerprint(spec: str) -> str:
    """What a ``dataset.spec`` reads, by content: the bundled file, the generator's code, a local file
    or directory, or the cached copy of a hub dataset (the spec alone when nothing local exists yet)."""
    parts = union_parts(spec)
    if parts:
        return "+".join(source_fingerprint(p) for p in parts)
    base, at, count = spec.rpartition("@")
    if at and count.isdigit():
        return f"{source_fingerprint(base)}@{count}"
    if spec == "bundled":
        return tree_sha256(INSTRUCTIONS)
    if spec == "verifiable" or spec.startswith("verifiable:"):
        # the package's sources and the fact tables its table_lookup family draws from
        return f"{spec}:{tree_sha256(Path(verifiable.__file__).parent, '*.py')}:{tree_sha256(facts.__file__)}"
    if spec.startswith("hub:"):
        name, _, local = spec[4:].partition("=")
        path = Path(local) if local else default_cache_dir() / name
        return f"hub:{name}:{tree_sha256(path)}" if path.exists() else f"hub:{name}"
    path = Path(spec).expanduser()
    if not path.exists():
        raise ConfigError(f"dataset.spec: no such file or directory: {spec}")
    return tree_sha256(path)


def tokenizer_fingerprint(tok) -> str:
    """The tokenizer's vocabulary, merges, normaliser, special tokens and chat template."""
    backend = getattr(tok, "backend_tokenizer", tok)
    parts = {"model": backend.to_str() if hasattr(backend, "to_str") else repr(backend),
             "special": {k: str(v) for k, v in sorted((getattr(tok, "special_tokens_map", None) or {}).items())},
             "chat_template": getattr(tok, "chat_template", None)}
    return digest(parts)


def template_fingerprint(tok, name: str) -> str:
    """The template as this tokenizer renders it (the text of a probe example)."""
    try:
        rendered = get_template(name).render(tok, "PROBE INSTRUCTION", "PROBE RESPONSE")
    except Exception as e:  # a chat template that cannot render is reported when the data is built
        rendered = f"unrenderable: {type(e).__name__}"
    return digest({"name": name, "rendered": rendered})


def data_inputs(cfg: dict, tok) -> dict:
    aug = cfg["augmentation"]
    inputs = {"layout": STAGE_LAYOUT, "spec": cfg["dataset"]["spec"], "limit": cfg["dataset"].get("limit"),
              "source": source_fingerprint(cfg["dataset"]["spec"]), "tokenizer": tokenizer_fingerprint(tok),
              "template": template_fingerprint(tok, cfg["model"]["template"]), "augmentation": {"enabled": False}}
    if aug.get("enabled"):
        inputs["augmentation"] = {**{k: v for k, v in aug.items() if k not in ("name", "epochs")},
                                  "transform_version": TRANSFORM_VERSION, "seed": cfg["seed"]}
    return inputs


def train_inputs(cfg: dict, data_key: str, match_key: str | None, bf16: bool, device: str) -> dict:
    """What determines the trained weights (a name, study or evaluation setting does not); the device and
    precision as resolved on this machine."""
    return {"layout": STAGE_LAYOUT, "data": data_key, "compute_match": match_key, "model": cfg["model"],
            "train": cfg["train"], "deepspeed": cfg.get("deepspeed") or {"enabled": False}, "seed": cfg["seed"],
            "bf16": bf16, "device": device,
            **({"probe": {**cfg["probe"], "heldout_source": source_fingerprint("bundled")}}
               if (cfg.get("probe") or {}).get("every_real_tokens") else {})}


def eval_settings(cfg: dict) -> dict:
    """What an evaluation of a checkpoint depends on besides the checkpoint (never a credential). On a GPU
    the resolved device and precision too, so a checkpoint evaluated on a CPU in fp32 is evaluated again,
    not answered from the CPU's outputs and judgments; on a CPU nothing is added (keys made before stay)."""
    judge = {k: v for k, v in (cfg.get("judge") or {}).items() if k != "api_key"}
    generation = cfg.get("generation") or {}
    device, precision = eval_placement(generation, cfg.get("train") or {})
    return {"eval": redact(cfg.get("eval") or {}), "judge": redact(judge), "generation": generation,
            "template": cfg["model"]["template"], "seed": cfg["seed"],
            **({"placement": f"{device}/{precision}"} if device != "cpu" else {})}


def run_key(cfg: dict, train_key: str) -> str:
    """A run = training + its evaluation, under the name a report shows it by."""
    return digest({"layout": STAGE_LAYOUT, "train": train_key, "eval": eval_settings(cfg),
                   "variant": cfg.get("variant"), "run_name": cfg["run_name"]})


def eval_key(checkpoint: str, cfg: dict, baseline_checkpoint: str | None = None) -> str:
    return digest({"layout": STAGE_LAYOUT, "checkpoint": checkpoint, "baseline": baseline_checkpoint,
                   **eval_settings(cfg)})


@dataclass(frozen=True)
class Keys:
    """The stage keys of one run."""
    data: str
    match: str | None
    train: str
    run: str

    def tags(self) -> dict[str, str]:
        return {TAG_LAYOUT: STAGE_LAYOUT, TAG_DATA_KEY: self.data, TAG_TRAIN_KEY: self.train, TAG_RUN_KEY: self.run}


def match_config(cfg: dict) -> dict | None:
    """The Mosaic-IT data whose real tokens a compute-matched original run reaches, or None."""
    return {**cfg, "augmentation": cfg["compute_match"]} if cfg.get("compute_match") else None


def stage_keys(cfg: dict) -> Keys:
    """Hashes of what each stage consumes; reads the dataset and tokenizer files, writes nothing."""
    tok = load_tokenizer(cfg["model"]["tokenizer"])
    data = digest(data_inputs(cfg, tok))
    match = match_config(cfg)
    match_key = digest({**data_inputs(match, tok), "epochs": match["augmentation"]["epochs"]}) if match else None
    tc = train_config(cfg)
    train = digest(train_inputs(cfg, data, match_key, tc.bf16, tc.device))
    return Keys(data, match_key, train, run_key(cfg, train))


# -------------------------------------------------------------------------------------- directories

DEBRIS_FILES = (".*.tmp",)       # atomic_open's and torch.save's temporaries
DEBRIS_DIRS = ("mosaic-rows-*",)  # the augmentation engine's scratch


class StageBusy(RuntimeError):
    """Another process holds the stage's lock (only with ``wait=False``)."""


class Stage:
    """``<root>/stages/<kind>/<key>``: finished when the directory exists (its marker is written last)."""

    def __init__(self, root: Path, kind: str, key: str):
        self.kind, self.key = kind, key
        self.parent = Path(root) / "stages" / kind
        self.final = self.parent / key
        self.work = self.parent / f".{key}.work"
        self.lockfile = self.parent / f".{key}.lock"

    def done(self) -> bool:
        return (self.final / MARKER).is_file()

    def manifest(self) -> dict:
        return json.loads((self.final / MARKER).read_text())

    @contextlib.contextmanager
    def claim(self, wait: bool = True, fresh: bool = False) -> Iterator[Path]:
        """The work directory, locked for this process, with a killed process's temporaries removed.
        ``fresh``: start from an empty work directory (stages that cannot resume)."""
        with hold_lock(self.lockfile, f"{self.kind} stage {self.key}", wait):
            if fresh:
                shutil.rmtree(self.work, ignore_errors=True)
            self.work.mkdir(parents=True, exist_ok=True)
            remove_debris(self.work)
            yield self.work

    def commit(self, manifest: dict) -> Path:
        """Mark the work complete and rename it into place (replacing a finished one only when forced)."""
        write_json(self.work / MARKER, {"kind": self.kind, "key": self.key, **manifest})
        old = None
        if self.final.exists():
            old = self.parent / f".{self.key}.replaced-{os.getpid()}"
            os.replace(self.final, old)
        os.replace(self.work, self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.final


def remove_debris(directory: Path) -> None:
    for pattern in DEBRIS_FILES:
        for p in directory.rglob(pattern):
            if p.is_file():
                p.unlink(missing_ok=True)
    for pattern in DEBRIS_DIRS:
        for p in directory.rglob(pattern):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def hold_lock(path: Path, what: str, wait: bool = True) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created, holding the owner's pid; removed on release).

    A process that finds the lock taken says who holds it, then waits (or raises :class:`StageBusy`).
    The lock file is re-checked after locking: if a releasing owner unlinked it meanwhile, lock anew."""
    path.parent.mkdir(parents=True, exist_ok=True)
    said = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            if not wait:
                os.close(fd)
                raise StageBusy(f"{what} is being computed by another process (pid {owner}); lock {path}") from None
            if not said:
                print(f"[stage] waiting for {what}: another process (pid {owner}) holds {path}", file=sys.stderr,
                      flush=True)
                said = True
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def link(target: Path, name: Path) -> None:
    """Point symlink ``name`` at ``target`` (relative), replacing a previous link atomically."""
    tmp = name.with_name(f".{name.name}.{os.getpid()}.link")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(target, name.parent))
    os.replace(tmp, name)
