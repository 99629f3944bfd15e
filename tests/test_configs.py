"""Every shipped augmentation config composes into a valid AugmentConfig."""
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from mosaic.augment.engine import AugmentConfig

CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.mark.parametrize("path", sorted((CONF / "augmentation").glob("*.yaml")), ids=lambda p: p.stem)
def test_augmentation_configs_are_valid(path):
    cfg = OmegaConf.to_container(OmegaConf.load(path))
    if not cfg.pop("enabled"):
        assert cfg == {}
        return
    cfg.pop("online")
    AugmentConfig(**cfg)
