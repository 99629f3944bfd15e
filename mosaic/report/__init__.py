"""The report: the paper's tables, figures and claims, regenerated from the MLflow store only.

``build_report(study, tracking_uri, results_dir)`` reads every finished run of a study and writes into
``results_dir``: ``tables/*.md|csv|tex``, ``figures/*.png``, ``summary.json``, ``REPORT.md`` and
``runs.json`` (the trail: every run used, with its config, overrides, commit and stage keys, and which
runs each table row came from). Modules:

- ``store``: the runs and artifacts of a study in MLflow (the only module that talks to MLflow);
- ``order``: variant order (augmentation registry) and adapter order (metric prefixes in the store);
- ``paper``: what the paper reports (the variants it compares, its Table 1 metrics);
- ``stats``: Student-t intervals and paired differences (pure);
- ``paired``: item-level paired bootstrap, McNemar, MDE, Holm and the verdict rules on them (pure);
- ``tables`` / ``study_tables`` / ``sweeps``: the table type and the tables of a study;
- ``claims`` / ``verdicts`` / ``report_md``: the paper's claims as records, the verdict rules, REPORT.md;
- ``figures``: matplotlib figures; ``trail``: ``runs.json``; ``build``: all of the above, in order.

Nothing here imports the ``evaluation`` package: adapters are known by their metrics in the store.
"""
from .build import build_report

__all__ = ["build_report"]
