"""The order variants and adapters appear in, from the augmentation registry and the store.

Variants: original IT first, then Mosaic-IT, then every other mix of the registry
(``mosaic.augment.strategies.MIXES``, one per ``conf/augmentation/*.yaml``) in registry order, then
names the registry does not know, sorted. Adapters: those with metrics in the store, in the order of
the paper's Table 1, then the others sorted.
"""
from __future__ import annotations

from typing import Iterable

from mosaic.augment.strategies import MIXES

from .paper import HEADLINE, MOSAIC, ORIGINAL


def registry_mixes() -> list[str]:
    return list(MIXES)


def variant_order(present: Iterable[str]) -> list[str]:
    present = set(present)
    known = [ORIGINAL, MOSAIC] + [m for m in registry_mixes() if m not in (ORIGINAL, MOSAIC)]
    return [v for v in known if v in present] + sorted(present - set(known))


def strategy_variants() -> list[str]:
    """The registry's mixes other than Mosaic-IT's own (the strategy ablation), in registry order."""
    return [m for m in registry_mixes() if m not in (ORIGINAL, MOSAIC)]


def adapter_order(present: Iterable[str]) -> list[str]:
    present = set(present)
    known = list(dict.fromkeys(m.adapter for m in HEADLINE))
    return [a for a in known if a in present] + sorted(present - set(known))
