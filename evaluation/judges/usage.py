"""What judging cost: requests, cache hits, tokens and an estimated price, per adapter.

A judge keeps one running :class:`Usage` total (thread-safe: the OpenAI judge's pool adds to it from several
threads); the evaluation snapshots it around each adapter and logs the difference with :func:`usage_metrics`.
Prices are user-set list prices in USD per million tokens (``prices.yaml`` next to this file, keyed by
model name, each with the date it was read; ``judge.price_per_million`` overrides it for the configured
model). A model without a price gets no ``usd_estimate``: an unknown price is absent, never zero.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from pathlib import Path

PRICES = Path(__file__).with_name("prices.yaml")


@dataclass(frozen=True)
class Usage:
    calls: int = 0              # requests sent (retries included; for the local judge, judgments generated)
    cached: int = 0             # judgments answered from the cache of an earlier run, not paid for now
    prompt_tokens: int = 0
    completion_tokens: int = 0
    without_usage: int = 0      # answers whose response carried no token counts (the totals are then a floor)

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __sub__(self, other: "Usage") -> "Usage":
        return Usage(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})


class UsageMeter:
    """A running :class:`Usage` total that concurrent requests add to."""

    def __init__(self):
        self._lock = threading.Lock()
        self._total = Usage()

    def add(self, **counts: int) -> None:
        with self._lock:
            self._total = self._total + Usage(**counts)

    def snapshot(self) -> Usage:
        with self._lock:
            return self._total


def response_usage(response) -> dict:
    """Token counts from an OpenAI response's ``usage`` field; ``without_usage`` when it has none."""
    u = getattr(response, "usage", None)
    prompt, completion = getattr(u, "prompt_tokens", None), getattr(u, "completion_tokens", None)
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return {"without_usage": 1}
    return {"prompt_tokens": prompt, "completion_tokens": completion}


def check_price(price, where: str) -> dict:
    """``{input, output}`` USD per million tokens, both non-negative numbers (``as_of`` kept when given)."""
    if not isinstance(price, dict) or any(not isinstance(price.get(k), (int, float)) or isinstance(price.get(k), bool)
                                          or price[k] < 0 for k in ("input", "output")):
        raise ValueError(f"{where} must be {{input: USD per million prompt tokens, output: USD per million "
                         f"completion tokens}} with non-negative numbers, got {price!r}")
    return {"input": float(price["input"]), "output": float(price["output"]),
            **({"as_of": str(price["as_of"])} if price.get("as_of") is not None else {})}


def load_prices(path: str | Path = PRICES) -> dict:
    """The price table: {model name: {input, output, as_of}}."""
    import yaml

    if not Path(path).exists():  # e.g. a non-editable install without package data: no prices known
        return {}
    table = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(table, dict):
        raise ValueError(f"{path}: expected a mapping of model name -> {{input, output, as_of}}")
    return {str(m): check_price(p, f"{path}: {m}") for m, p in table.items()}


def price_for(model: str, override=None, table: dict | None = None) -> dict | None:
    """The configured price (``judge.price_per_million``), else the table's entry for ``model``, else None."""
    if override is not None:
        return {**check_price(override, "judge.price_per_million"), "source": "judge.price_per_million"}
    entry = (load_prices() if table is None else table).get(model)
    return {**entry, "source": PRICES.name} if entry else None


def usd(usage: Usage, price: dict | None) -> float | None:
    if price is None:
        return None
    return (usage.prompt_tokens * price["input"] + usage.completion_tokens * price["output"]) / 1e6


def usage_metrics(adapter: str, usage: Usage, price: dict | None) -> dict[str, float]:
    """MLflow metrics ``judge_usage/<adapter>/<counter>``; ``usd_estimate`` only with a known price."""
    out = {f"judge_usage/{adapter}/{k}": float(v) for k, v in asdict(usage).items()}
    cost = usd(usage, price)
    if cost is not None:
        out[f"judge_usage/{adapter}/usd_estimate"] = cost
    return out
