"""The structured config of a run: one dataclass per Hydra group, each field with its type and range.

:func:`check` turns a composed config (a plain dict) into :class:`RunSettings` or raises
:class:`ConfigError` naming the key, before any data is read or anything is written. Cross-field
rules (a budget that fits the sequence, online mode's epoch count, compute matching) live in
``RunSettings.__post_init__``. Other modules keep reading the plain dict; this layer only decides
whether it can run.
"""
from __future__ import annotations

import re
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Callable

from .augment.engine import AugmentConfig
from .hardware import (ATTENTION, DEVICES, PRECISIONS, attention_available, cuda_available, resolve_device,
                       resolve_precision)
from .train.batches import REGIMES
from .data.templates import TEMPLATES
from .secrets import credentials_in_url, looks_like_key

MODEL_SOURCES = ("smollm2", "random_llama", "hub")
JUDGES = ("local", "openai")
# What each judge kind reads from the ``judge`` group (``api_key_env`` may be null: an endpoint without a key).
JUDGE_FIELDS = {"openai": ("model", "base_url", "api_key_env", "max_retries", "backoff", "timeout"),
                "local": ("model", "template", "max_tokens", "batch_size")}
RESERVED_STUDY = "stages"  # <runs_dir>/stages holds the stage outputs
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the key."""


def rule(check: Callable[[Any], bool], says: str) -> dict:
    """Field metadata: ``check(value)`` must hold, else "<key> must be <says>"."""
    return {"check": check, "says": says}


def at_least(n: int) -> dict:
    return rule(lambda v: v >= n, f"an integer >= {n}")


def one_of(options: tuple) -> dict:
    return rule(lambda v: v in options, f"one of {list(options)}")


POSITIVE = rule(lambda v: v > 0, "a positive number")
NON_NEGATIVE = rule(lambda v: v >= 0, "a number >= 0")
FRACTION = rule(lambda v: 0 <= v <= 1, "a number in [0, 1]")


def _type_ok(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, origin or hint)


def _type_name(hint: Any) -> str:
    args = typing.get_args(hint)
    if args:
        return " or ".join(_type_name(a) for a in args)
    return {type(None): "null", int: "an integer", float: "a number", bool: "true/false", str: "a string",
            dict: "a mapping"}.get(hint, getattr(hint, "__name__", str(hint)))


def parse(cls, values: Any, prefix: str):
    """An instance of dataclass ``cls`` from ``values``, checking every field's type and rule."""
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix} must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{prefix}.{unknown[0]} is not a setting of {prefix} (known: {sorted(known)})"
                          if prefix else f"{unknown[0]} is not a run setting (known: {sorted(known)})")
    kwargs = {}
    for f in fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        if f.name not in values:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(f"{key} is required")
            continue
        value = values[f.name]
        if not _type_ok(value, hints[f.name]):
            raise ConfigError(f"{key} must be {_type_name(hints[f.name])}, got {value!r}")
        check = f.metadata.get("check")
        if check is not None and value is not None and not check(value):
            raise ConfigError(f"{key} must be {f.metadata['says']}, got {value!r}")
        kwargs[f.name] = value
    return cls(**kwargs)


def require_when_enabled(settings, group: str) -> None:
    """Fields left null by a disabled group (original IT, a single process) are required when it is enabled."""
    missing = [f.name for f in fields(settings) if getattr(settings, f.name) is None]
    if settings.enabled and missing:
        raise ConfigError(f"{group}.{missing[0]} is required when {group}.enabled=true")


@dataclass(frozen=True)
class ModelSettings:
    name: str
    source: str = field(metadata=one_of(MODEL_SOURCES))
    tokenizer: str
    template: str = field(metadata=one_of(TEMPLATES))
    max_len: int = field(metadata=at_least(8))
    id: str | None = None
    config: dict = field(default_factory=dict)
    attn_implementation: str = field(default=ATTENTION[0], metadata=one_of(ATTENTION))


@dataclass(frozen=True)
class DatasetSettings:
    name: str
    spec: str
    limit: int | None = field(default=None, metadata=at_least(1))


@dataclass(frozen=True)
class AugmentationSettings:
    """conf/augmentation/all.yaml holds the paper's values (the engine's defaults, tested to agree); the
    Mosaic-IT fields are required when ``enabled`` and absent for original IT."""
    name: str
    enabled: bool
    epochs: int = field(metadata=at_least(1))
    strategy: str | None = None
    wrap_mode: str | None = None
    max_count: int | None = field(default=None, metadata=at_least(1))
    max_tokens: int | None = field(default=None, metadata=at_least(1))
    passes: int | None = field(default=None, metadata=at_least(1))
    online: bool | None = None
    vocabulary: str | None = None

    def __post_init__(self):
        require_when_enabled(self, "augmentation")


@dataclass(frozen=True)
class TrainSettings:
    regime: str = field(metadata=one_of(REGIMES))
    batch_size: int = field(metadata=at_least(1))
    grad_accum: int = field(metadata=at_least(1))
    epochs: int = field(metadata=at_least(1))
    lr: float = field(metadata=POSITIVE)
    weight_decay: float = field(metadata=NON_NEGATIVE)
    warmup_ratio: float = field(metadata=FRACTION)
    max_grad_norm: float = field(metadata=POSITIVE)
    precision: str = field(metadata=one_of(PRECISIONS))
    max_steps: int | None = field(metadata=at_least(1))
    save_every: int = field(metadata=at_least(0))
    gradient_checkpointing: bool
    allow_tf32: bool = False


@dataclass(frozen=True)
class ProbeSettings:
    """Held-out response loss during training (mosaic/probe.py); off while ``every_real_tokens`` is null."""
    every_real_tokens: int | None = field(default=None, metadata=at_least(1))
    examples: int = field(default=64, metadata=at_least(1))
    mosaic_samples: int = field(default=8, metadata=at_least(0))
    batch_size: int = field(default=8, metadata=at_least(1))


@dataclass(frozen=True)
class DeepSpeedSettings:
    """conf/deepspeed/<name>.yaml sets every field of an enabled one."""
    enabled: bool
    stage: int | None = field(default=None, metadata=one_of((2, 3)))
    nproc: int | str | None = field(default=None, metadata=rule(lambda v: v == "auto" or (isinstance(v, int) and v >= 1),
                                                                 "an integer >= 1 or 'auto' (one per visible GPU)"))
    offload_optimizer: bool | None = None
    offload_params: bool | None = None

    def __post_init__(self):
        require_when_enabled(self, "deepspeed")


@dataclass(frozen=True)
class JudgeSettings:
    """Values come from conf/judge/<kind>.yaml (the one source of each default); JUDGE_FIELDS says which."""
    kind: str = field(metadata=one_of(JUDGES))
    model: str
    template: str | None = None
    max_tokens: int | None = field(default=None, metadata=at_least(1))
    batch_size: int | None = field(default=None, metadata=at_least(1))
    base_url: str | None = None
    api_key_env: str | None = None
    api_key: str | None = None  # accepted from the command line only; see mosaic/secrets.py
    max_retries: int | None = field(default=None, metadata=at_least(0))
    backoff: float | None = field(default=None, metadata=NON_NEGATIVE)
    timeout: float | None = field(default=None, metadata=POSITIVE)
    concurrency: int | None = field(default=None, metadata=at_least(1))  # requests in flight; None: the kind's default
    price_per_million: dict | None = field(default=None, metadata=rule(
        lambda v: isinstance(v, dict) and set(v) <= {"input", "output", "as_of"} and all(
            isinstance(v.get(k), (int, float)) and not isinstance(v.get(k), bool) and v[k] >= 0
            for k in ("input", "output")), "{input: USD per million prompt tokens, output: USD per million "
                                           "completion tokens}, non-negative numbers"))

    def __post_init__(self):
        missing = [k for k in JUDGE_FIELDS[self.kind] if getattr(self, k) is None and k != "api_key_env"]
        if missing:
            raise ConfigError(f"judge.{missing[0]} is required for judge.kind={self.kind} "
                              f"(conf/judge/{self.kind}.yaml sets it)")
        if self.kind == "local" and self.concurrency not in (None, 1):
            raise ConfigError(f"judge.concurrency={self.concurrency} needs judge=openai: the local judge is one "
                              "in-process model; judge.batch_size sets how many judgments it generates at once")
        if self.api_key_env is not None and (not ENV_NAME.match(self.api_key_env) or looks_like_key(self.api_key_env)):
            raise ConfigError(
                "judge.api_key_env must be the NAME of an environment variable (e.g. OPENAI_API_KEY), and its value "
                "looks like a key itself. Keys belong in the environment: `export OPENAI_API_KEY=...` and keep "
                "judge.api_key_env=OPENAI_API_KEY; they are never written to configs, logs or MLflow.")
        if self.base_url and credentials_in_url(self.base_url):
            raise ConfigError(
                "judge.base_url contains credentials (user:password@ or a key in the query string). Give the bare "
                "endpoint URL and put the key in the environment variable named by judge.api_key_env.")


@dataclass(frozen=True)
class RunSettings:
    model: ModelSettings
    dataset: DatasetSettings
    augmentation: AugmentationSettings
    train: TrainSettings
    deepspeed: DeepSpeedSettings
    judge: JudgeSettings
    probe: ProbeSettings
    seed: int = field(metadata=at_least(0))
    study: str = field(metadata=rule(lambda v: v not in ("", RESERVED_STUDY), f"a name other than {RESERVED_STUDY!r}"))
    run_name: str = field(metadata=rule(lambda v: bool(v) and "/" not in v, "a name without '/'"))
    runs_dir: str
    variant: str
    compute_match: dict | None
    device: str = field(metadata=one_of(DEVICES))
    peak_flops: dict = field(default_factory=dict, metadata=rule(
        lambda v: all(isinstance(x, (int, float)) and x > 0 for x in v.values()), "a map of device name -> FLOP/s > 0"))

    def __post_init__(self):
        if self.device == "cuda" and not cuda_available():
            raise ConfigError("device=cuda but no CUDA device is visible; use device=auto or device=cpu")
        try:
            resolve_precision(self.train.precision, resolve_device(self.device))
        except ValueError as e:
            raise ConfigError(str(e)) from None
        attention = self.model.attn_implementation
        if not attention_available(attention, resolve_device(self.device)):
            raise ConfigError(f"model.attn_implementation={attention} needs the flash-attn package and a CUDA device "
                              "(pip install flash-attn); sdpa runs everywhere")
        aug, train = self.augmentation, self.train
        if aug.enabled and aug.max_tokens > self.model.max_len:
            raise ConfigError(f"augmentation.max_tokens={aug.max_tokens} exceeds model.max_len={self.model.max_len}: "
                              "mosaic samples would not fit the training sequence")
        if aug.enabled and aug.online and train.epochs != aug.passes:
            raise ConfigError(f"augmentation.online=true trains epoch e on pass e: train.epochs={train.epochs} "
                              f"must equal augmentation.passes={aug.passes}")
        if self.compute_match and aug.enabled:
            raise ConfigError("compute_match matches ORIGINAL instruction tuning to a Mosaic-IT run: "
                              "it needs augmentation=none")
        if self.probe.every_real_tokens and self.deepspeed.enabled:
            raise ConfigError("probe.every_real_tokens is measured by the single-process recipe: set it to null "
                              "with deepspeed (or evaluate the final checkpoint)")
        if self.compute_match:
            parse(AugmentationSettings, self.compute_match, "compute_match")


GROUPS = {"model": ModelSettings, "dataset": DatasetSettings, "augmentation": AugmentationSettings,
          "train": TrainSettings, "deepspeed": DeepSpeedSettings, "judge": JudgeSettings, "probe": ProbeSettings}
# Keys of the composed config that other layers own (evaluation adapters, generation, tracking, Hydra extras).
OWNED_ELSEWHERE = ("eval", "generation", "tracking", "force")


def select_evals(cfg: dict) -> dict:
    """The composed config with only the evaluations the ``eval`` group selected.

    Each conf/eval file sets ``adapter``; an experiment that tunes an adapter's settings
    (``eval: {alpaca_eval: {limit: 32}}``) creates the key without selecting the adapter, so
    ``experiment=cpu_repro eval=[lm_eval]`` runs lm-eval only."""
    evals = cfg.get("eval") or {}
    return {**cfg, "eval": {n: c for n, c in evals.items() if isinstance(c, dict) and c.get("adapter") == n}}


def check(cfg: dict) -> RunSettings:
    """The validated settings of ``cfg``; raises :class:`ConfigError` naming the first bad key."""
    top = {f.name for f in fields(RunSettings)}
    values = {k: v for k, v in cfg.items() if k in top}
    unknown = sorted(set(cfg) - top - set(OWNED_ELSEWHERE))
    if unknown:
        raise ConfigError(f"{unknown[0]} is not a run setting (known: {sorted(top | set(OWNED_ELSEWHERE))})")
    for group, cls in GROUPS.items():  # no deepspeed group: a single process
        default = {"enabled": False} if group == "deepspeed" else {} if group == "probe" else None
        values[group] = parse(cls, cfg.get(group) or default, group)
    settings = parse(RunSettings, values, "")
    if settings.augmentation.enabled:
        _check_augmentation(cfg)
    return settings


def augment_config(cfg: dict) -> AugmentConfig:
    """The augmentation engine's config for a run (``augmentation`` group, seed, template)."""
    aug = cfg["augmentation"]
    return AugmentConfig(strategy=aug["strategy"], wrap_mode=aug["wrap_mode"], max_count=aug["max_count"],
                         max_tokens=aug["max_tokens"], passes=aug["passes"], seed=cfg["seed"],
                         template=cfg["model"]["template"], vocabulary=aug["vocabulary"])


def _check_augmentation(cfg: dict) -> None:
    """The strategy mix, count distribution and vocabulary names, checked by the engine's own config."""
    try:
        augment_config(cfg)
    except ValueError as e:
        raise ConfigError(f"augmentation: {e}") from None
