"""Mosaic-IT augmentation: strategies (registered by name), count distributions, budget, pass engine."""
from .engine import AugmentConfig, MosaicBuilder, RowStore
from .strategies import MIXES, STRATEGIES, Vocabulary, compose, parse_mix, register

__all__ = ["AugmentConfig", "MosaicBuilder", "RowStore", "MIXES", "STRATEGIES", "Vocabulary", "compose",
           "parse_mix", "register"]
