"""Strategy registry: a strategy is a pure function ``(items, rng, vocab) -> MosaicPlan``.

Adding a strategy is one module in this package with a ``@register("name")`` function (modules
are imported automatically) plus one entry in :data:`MIXES` or a config that names it. Mixes say with which probability each strategy is
drawn for a sample, as the released code's ``--version`` does.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from .. import phrasings, styles
from ..sample import Item, MosaicPlan

Strategy = Callable[[Sequence[Item], random.Random, "Vocabulary"], MosaicPlan]
STRATEGIES: dict[str, Strategy] = {}

# Released-code correspondence: format -> --version format, permute -> order, maskout -> mask,
# all -> both (the paper's default). ``primary`` has no released flag (see docs/deviations.md).
MIXES: dict[str, dict[str, float]] = {
    "primary": {"primary": 1.0},
    "format": {"format": 1.0},
    "permute": {"format": 1.0, "permute": 1.0},
    "maskout": {"format": 1.0, "maskout": 1.0},
    "all": {"format": 1.0, "permute": 1.0, "maskout": 1.0},
}


def register(name: str):
    def deco(fn: Strategy) -> Strategy:
        if name in STRATEGIES:
            raise ValueError(f"strategy {name!r} registered twice")
        STRATEGIES[name] = fn
        return fn
    return deco


@dataclass(frozen=True)
class Vocabulary:
    """Which wordings and styles are drawn: ``train`` for augmentation, ``heldout`` for evaluation."""

    split: str = "train"

    def __post_init__(self):
        if self.split not in ("train", "heldout"):
            raise ValueError(f"vocabulary split must be 'train' or 'heldout', got {self.split!r}")

    def pick(self, p: phrasings.Phrasings) -> tuple:
        return getattr(p, self.split)

    def phrasing(self, key: str, rng: random.Random) -> tuple[str, str]:
        """(template, id) drawn from the phrasings of ``key`` such as 'permute/alpha'."""
        options, ids = self._phrasings[key]
        j = rng.randrange(len(options))
        return options[j], ids[j]

    @functools.cached_property
    def _phrasings(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Per key: the options of this split and their ids ('permute/alpha#t3'), made once."""
        out = {}
        for key, p in _all_phrasings().items():
            options = self.pick(p)
            out[key] = options, tuple(f"{key}#{self.split[0]}{j}" for j in range(len(options)))
        return out

    @functools.cached_property
    def number_styles(self) -> tuple[str, ...]:
        return self.pick(styles.NUMBER_STYLES)

    @functools.cached_property
    def marker_shapes(self) -> tuple[str, ...]:
        return self.pick(styles.MARKER_SHAPES)

    @functools.cached_property
    def marker_words(self) -> tuple[tuple[str, str], ...]:
        return self.pick(styles.MARKER_WORDS)


_all_phrasings = functools.cache(phrasings.all_phrasings)


def parse_mix(spec: str | Mapping[str, float]) -> dict[str, float]:
    """A mix name (``all``), a strategy name, ``name=weight,...``, or a mapping, validated."""
    if isinstance(spec, Mapping):
        mix = {str(k): float(v) for k, v in spec.items()}
    elif spec in MIXES:
        mix = dict(MIXES[spec])
    elif "=" in spec:
        mix = {}
        for part in spec.split(","):
            name, _, w = part.partition("=")
            try:
                mix[name.strip()] = float(w)
            except ValueError:
                raise ValueError(f"bad strategy weight in {spec!r}: {part!r}") from None
    else:
        mix = {spec: 1.0}
    unknown = sorted(set(mix) - set(STRATEGIES))
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; known: {sorted(STRATEGIES)}; mixes: {sorted(MIXES)}")
    if any(w < 0 for w in mix.values()) or not sum(mix.values()) > 0:
        raise ValueError(f"strategy weights must be >= 0 and not all zero: {mix}")
    return mix


@functools.lru_cache(maxsize=64)
def _cumulative(mix: tuple) -> tuple[list[str], list[float]]:
    """Names and cumulative weights, as ``random.choices(weights=...)`` computes them on every call."""
    import itertools

    return [n for n, _ in mix], list(itertools.accumulate(w for _, w in mix))


def compose(mix: Mapping[str, float], items: Sequence[Item], rng: random.Random, vocab: Vocabulary) -> MosaicPlan:
    """Draw a strategy from the mix and apply it; single-instruction samples are format-only."""
    return mixer(mix)(items, rng, vocab)


def mixer(mix: Mapping[str, float]) -> Callable[[Sequence[Item], random.Random, Vocabulary], MosaicPlan]:
    """:func:`compose` for one mix, its weights accumulated once (for calling it many times)."""
    names, cum = _cumulative(tuple(mix.items()))
    strategies = [STRATEGIES[n] for n in names]
    single = [STRATEGIES[n if n in ("primary", "format") else "format"] for n in names]

    def compose_mix(items: Sequence[Item], rng: random.Random, vocab: Vocabulary) -> MosaicPlan:
        k = 0 if len(names) == 1 else names.index(rng.choices(names, cum_weights=cum)[0])
        return (single if len(items) == 1 else strategies)[k](items, rng, vocab)
    return compose_mix


def _register_all() -> None:
    """Import every module of this package, so that a new strategy module registers itself."""
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")


_register_all()
