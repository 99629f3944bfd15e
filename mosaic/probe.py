"""The held-out probe of a run (``probe`` group, conf/config.yaml): which examples, in which formats.

Two held-out sets, the same for every arm of a study: the ``probe.examples`` bundled examples no
training subset takes (mosaic/data/heldout.py), in the original single-instruction format, and
``probe.mosaic_samples`` mosaic samples built from those examples with the paper's default
augmentation (all strategies, uniform count up to 10, the run's token budget, seed 0). The second set
lets the report ask whether Mosaic-IT's own format is learnt beyond the training samples.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from .augment.engine import AugmentConfig
from .augment.run import augment_file
from .data.heldout import check_unseen, heldout_examples
from .data.io import write_jsonl
from .settings import ConfigError
from .tracking import config_hash
from .train.features import encode, encode_samples, read_samples
from .train.heldout import HeldoutProbe, HeldoutSet

MOSAIC_DEFAULTS = {"strategy": "all", "wrap_mode": "uniform", "max_count": 10, "passes": 1, "seed": 0}


def heldout_sets(cfg: dict, tok, template, train_samples: list[dict]) -> list[HeldoutSet]:
    probe = cfg["probe"]
    try:  # a held-out set too large, or inside the training data: the configuration's fault
        examples = heldout_examples(probe["examples"])
        check_unseen(examples, train_samples, f"probe (run {cfg['run_name']})")
    except ValueError as e:
        raise ConfigError(str(e)) from None
    max_len = cfg["model"]["max_len"]
    sets = [HeldoutSet("single", [e.id for e in examples],
                       [encode(tok, template, e.prompt, e.output, max_len) for e in examples])]
    if probe["mosaic_samples"]:
        budget = min(max_len, (cfg.get("augmentation") or {}).get("max_tokens") or 2000)
        aug = AugmentConfig(**MOSAIC_DEFAULTS, max_tokens=budget, template=cfg["model"]["template"])
        with tempfile.TemporaryDirectory(prefix="mosaic-probe-") as tmp:
            rows = Path(tmp) / "heldout.jsonl"
            write_jsonl(rows, ({"id": e.id, "instruction": e.prompt, "input": "", "output": e.output}
                               for e in examples))
            augment_file(str(rows), Path(tmp) / "mosaic.jsonl", cfg["model"]["tokenizer"], aug, progress=False,
                         workers=1)
            samples = read_samples(Path(tmp) / "mosaic.jsonl", limit=probe["mosaic_samples"])
        sets.append(HeldoutSet("mosaic", [s["id"] for s in samples], encode_samples(tok, template, samples, max_len)))
    return sets


def probe_sets(cfg: dict, tok, template, train_samples: list[dict]) -> list[HeldoutSet] | None:
    """The run's held-out sets, or None when ``probe.every_real_tokens`` is null (off). Raises
    :class:`ConfigError` when the training data contains a held-out example (before any work)."""
    if not (cfg.get("probe") or {}).get("every_real_tokens"):
        return None
    return heldout_sets(cfg, tok, template, train_samples)


def start_key(cfg: dict, sets: list[HeldoutSet], precision: str, batch_size: int) -> str:
    """What the probe's start point depends on: the starting weights (the model config names them),
    the held-out items' tokens and weights, precision and batch size (bf16 sums depend on batching)."""
    return config_hash({"model": cfg["model"], "precision": precision, "batch_size": batch_size,
                        "sets": [[hs.name, hs.ids, [[e.input_ids, e.labels] for e in hs.items]] for hs in sets]})


def make_probe(cfg: dict, sets: list[HeldoutSet] | None, work: Path, pad_id: int, precision: str,
               cache_dir: Path | None = None) -> HeldoutProbe | None:
    if sets is None:
        return None
    probe = cfg["probe"]
    batch = probe.get("batch_size", 8)
    cache = Path(cache_dir) / f"{start_key(cfg, sets, precision, batch)}.json" if cache_dir else None
    return HeldoutProbe(sets, probe["every_real_tokens"], work / "heldout.json", pad_id, precision, batch,
                        start_cache=cache)
