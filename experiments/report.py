"""``make report``: the paper's tables, figures and claims, regenerated from the MLflow store only.

Reads every finished run of a study (training runs tagged ``run_complete``, the ``cost`` and ``counts``
runs, and Hydra sweeps: parent runs tagged ``sweep``), never in-memory state, and writes into
``results/``: ``tables/*.md|csv|tex``, ``figures/*.png``, ``summary.json`` (every number with the run ids
it came from), ``REPORT.md`` (each claim of the paper, the evidence at this scale, a verdict) and
``runs.json`` (the trail: each run's config, overrides, commit and stage keys, and the runs behind each
table row). Means over seeds carry a 95% confidence interval (Student t). Everything is byte-identical
when rebuilt from the same store. The code is the package ``mosaic.report``.
Usage: python experiments/report.py [--study cpu-repro] [--tracking-uri URI] [--results results]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from mosaic.report import build_report

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", default="cpu-repro")
    ap.add_argument("--tracking-uri", default=None)
    ap.add_argument("--results", type=Path, default=ROOT / "results")
    args = ap.parse_args(argv)
    build_report(args.study, args.tracking_uri, args.results, repo_root=ROOT)
    print(f"report written to {args.results}")


if __name__ == "__main__":
    main()
