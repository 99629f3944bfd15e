"""Evaluation adapters: one module per benchmark, each a function ``(ctx, cfg) -> AdapterResult`` registered
by name. They call the real libraries (``alpaca_eval``, FastChat's ``llm_judge``, ``lm_eval``); what those
libraries compute (win rates, judge prompts and parsing, task scoring) is not re-implemented here.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ADAPTERS: dict[str, Callable] = {}


@dataclass
class AdapterResult:
    metrics: dict[str, float]  # flat, MLflow-ready: "<adapter>/<name>"
    artifacts: list[Path] = field(default_factory=list)  # raw outputs and judgments, logged as artifacts
    info: dict = field(default_factory=dict)  # judge identity, template, counts: logged as a JSON artifact
    tables: dict[str, list[dict]] = field(default_factory=dict)  # per-category/turn/rule rows for the report


class AdapterFailed(RuntimeError):
    """Part of an adapter's work failed; ``partial`` holds what finished (logged, then marked failed)."""

    def __init__(self, message: str, partial: AdapterResult):
        super().__init__(message)
        self.partial = partial


def register(name: str):
    def deco(fn):
        if name in ADAPTERS:
            raise ValueError(f"adapter {name!r} registered twice")
        ADAPTERS[name] = fn
        return fn
    return deco


def get_adapter(name: str) -> Callable:
    if name not in ADAPTERS:
        raise KeyError(f"unknown evaluation {name!r}; known: {sorted(ADAPTERS)}")
    return ADAPTERS[name]


for _mod in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_mod.name}")
