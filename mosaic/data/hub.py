"""The paper's datasets on the Hugging Face Hub, loaded through ``datasets.load_dataset``.

Our machines have no Hub access, so loading fails with a message that says what to download
and where to put it; a local copy (a directory laid out like the Hub repository, or a single
file) is loaded by the same code path. Which public ids stand for the paper's datasets:

* ``alpaca_gpt4``: ``vicgalle/alpaca-gpt4`` (52K, Alpaca fields) — the paper's default data file.
* ``wizardlm_70k``: ``WizardLMTeam/WizardLM_evol_instruct_70k`` (70K, ``instruction``/``output``).
* ``vicuna``: ``anon8231489123/ShareGPT_Vicuna_unfiltered``, file
  ``ShareGPT_V3_unfiltered_cleaned_split_no_imsorry.json`` (the cleaned ShareGPT split FastChat's
  Vicuna recipe used). The paper does not say which ShareGPT subset it used; this is our choice.
* ``magpie``: ``Magpie-Align/Magpie-Pro-300K-Filtered`` (ShareGPT-style ``conversations``). The paper
  names "Magpie" without a variant; this is our choice.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import DataError, ErrorReport
from .loaders import iter_records, load_records
from .records import Conversation, Example


@dataclass(frozen=True)
class HubDataset:
    name: str
    repo: str
    format: str
    split: str = "train"
    data_files: str | None = None
    note: str = ""


HUB_DATASETS: dict[str, HubDataset] = {d.name: d for d in (
    HubDataset("alpaca_gpt4", "vicgalle/alpaca-gpt4", "alpaca", note="GPT-4 answers to the 52K Alpaca instructions"),
    HubDataset("wizardlm_70k", "WizardLMTeam/WizardLM_evol_instruct_70k", "alpaca", note="Evol-Instruct 70K"),
    HubDataset("vicuna", "anon8231489123/ShareGPT_Vicuna_unfiltered", "sharegpt",
               data_files="ShareGPT_V3_unfiltered_cleaned_split_no_imsorry.json", note="ShareGPT V3 cleaned split"),
    HubDataset("magpie", "Magpie-Align/Magpie-Pro-300K-Filtered", "sharegpt", note="Magpie-Pro 300K filtered"),
)}


class HubUnavailable(RuntimeError):
    """The Hub could not be reached (or the dataset is not cached): tells the user what to do."""


def default_cache_dir() -> Path:
    return Path(os.environ.get("MOSAIC_DATA_CACHE", Path.home() / ".cache" / "mosaic-it" / "datasets"))


def how_to_download(ds: HubDataset, cache_dir: Path) -> str:
    target = cache_dir / ds.name
    files = f" --include '{ds.data_files}'" if ds.data_files else ""
    return (f"Could not load '{ds.repo}' from the Hugging Face Hub (no network access, or HF_HUB_OFFLINE is set).\n"
            f"On a machine with access run:\n"
            f"    hf download {ds.repo} --repo-type dataset{files} --local-dir {target}\n"
            f"and copy that directory here (same path), or pass local_path=<dir or file>. "
            f"Any directory laid out like the Hub repository, or a single JSON/JSONL/Parquet file, works.")


def _hub_rows(source, data_files, split: str, cache_dir: Path) -> Iterator[tuple[int, object]]:
    import datasets  # heavy import, only when the Hub path is used

    if isinstance(source, Path) and source.is_file():
        builder = {".parquet": "parquet", ".csv": "csv"}.get(source.suffix, "json")
        ds = datasets.load_dataset(builder, data_files=str(source), split=split, cache_dir=str(cache_dir))
    else:
        ds = datasets.load_dataset(str(source), data_files=data_files, split=split, cache_dir=str(cache_dir))
    for i, row in enumerate(ds, start=1):
        yield i, row


def load_hub(name: str, local_path: str | Path | None = None, cache_dir: str | Path | None = None,
             report: ErrorReport | None = None) -> Iterator[Example | Conversation]:
    """Validated records of a registered Hub dataset (or of its local copy)."""
    if name not in HUB_DATASETS:
        raise KeyError(f"unknown hub dataset {name!r}; known: {sorted(HUB_DATASETS)}")
    ds = HUB_DATASETS[name]
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    report = report or ErrorReport()
    local = Path(local_path) if local_path else (cache_dir / ds.name)
    if local.is_file() and local.suffix in (".json", ".jsonl"):
        yield from load_records(local, ds.format, report, source=ds.name)
        return
    source = local if local.exists() else ds.repo
    try:
        rows = _hub_rows(source, ds.data_files, ds.split, cache_dir)
        first = next(rows, None)
    except Exception as e:  # datasets raises many types for "offline"; all mean the same thing here
        if isinstance(e, DataError):
            raise
        raise HubUnavailable(how_to_download(ds, cache_dir) + f"\n(underlying error: {type(e).__name__}: {e})") from e
    if first is None:
        return

    def chain():
        yield first
        yield from rows

    yield from iter_records(chain(), ds.format, f"{source}", ds.name, report)
