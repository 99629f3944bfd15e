"""``make report``: the paper's tables, figures and claims, regenerated from the MLflow store only.

Reads every finished run of a study (training runs tagged ``run_complete``, the ``cost`` and ``counts``
runs, and Hydra sweeps: parent runs tagged ``sweep``), never in-memory state, and writes into
``results/``: ``tables/*.md|csv|tex``, ``figures/*.png``, ``summary.json`` (every number with the run ids
it came from), ``REPORT.md`` (each claim of the paper, the evidence at this scale, a verdict),
``items/`` (every evaluated item) and ``runs.json`` (the trail: each run's config, overrides, commit and
stage keys, and the runs behind each table row). When it writes the repository's ``results/``, the
README's headline table is regenerated from REPORT.md (``mosaic/report/readme.py``). Everything is
byte-identical when rebuilt from the same store. The code is the package ``mosaic.report``.
Usage: python experiments/report.py [--study STUDY] [--tracking-uri URI] [--results results]
(default study: the one ``results/summary.json`` was built from, else cpu-repro)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from mosaic.report import build_report
from mosaic.report.readme import sync_readme

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def default_study() -> str:
    summary = RESULTS / "summary.json"
    return json.loads(summary.read_text()).get("study", "cpu-repro") if summary.exists() else "cpu-repro"


def publish(study: str, tracking_uri: str | None, results: Path) -> None:
    """Build the report; for the repository's own results/, regenerate the README's headline too."""
    build_report(study, tracking_uri, results, repo_root=ROOT)
    if Path(results).resolve() == RESULTS.resolve() and sync_readme(ROOT / "README.md", RESULTS / "REPORT.md"):
        print("README.md headline regenerated from results/REPORT.md")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", default=None)
    ap.add_argument("--tracking-uri", default=None)
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    publish(args.study or default_study(), args.tracking_uri, args.results)
    print(f"report written to {args.results}")


if __name__ == "__main__":
    main()
