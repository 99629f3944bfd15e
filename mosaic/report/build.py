"""``build_report``: everything the report writes, from the MLflow store only, in one pass."""
from __future__ import annotations

from pathlib import Path

from mosaic.data.io import atomic_open, write_json

from . import cost_claim, figures, study_tables
from .items import export_items, run_items
from .order import adapter_order, strategy_variants, variant_order
from .paper import HEADLINE, MOSAIC, parse_failure_key
from .report_md import findings, render
from .store import Store, adapters_of, judge_name, model_name
from .sweeps import sweep_tables
from .trail import build_trail, collect_runs, finite, write_trail


def build_report(study: str, tracking_uri: str | None = None, results_dir: str | Path = "results",
                 repo_root: str | Path | None = None) -> dict:
    """Write ``tables/``, ``figures/``, ``summary.json``, ``REPORT.md`` and ``runs.json`` into
    ``results_dir`` from experiment ``study`` of the store at ``tracking_uri`` (default: the
    repository's ``mlflow.db`` under ``repo_root``). Returns the summary."""
    results = Path(results_dir)
    store = Store.open(study, tracking_uri, Path(repo_root) if repo_root else None)
    data = store.load()
    training = data.training
    tables_dir, figures_dir = results / "tables", results / "figures"
    tables_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    summary: dict = {"study": study, "tracking_uri_kind": store.uri.split(":")[0], "variants": {}}
    variants = variant_order(v for v, _ in training)
    adapters = adapter_order(adapters_of(training.values()))
    headline = [m for m in HEADLINE if m.adapter in adapters]
    judged = [a for a in adapters if any(parse_failure_key(a) in r.metrics for r in training.values())]
    judge, model = judge_name(training), model_name(training)

    t1, summary["variants"] = study_tables.table1(training, variants, headline, judge, model)
    tables = [t1, study_tables.judging(training, variants, judged, judge),
              study_tables.mt_bench_turns(training, variants, judge),
              study_tables.strategy_ablation(training, [v for v in strategy_variants() + [MOSAIC] if v in variants],
                                             headline)]
    if data.references:
        shown = adapters_of([*training.values(), *data.references.values()])
        tables.append(study_tables.references(data.references, [m for m in HEADLINE if m.adapter in shown],
                                              judge_name(data.references)))
    cost = store.artifact_json(data.cost.run_id, "cost.json") if data.cost else None
    cost_run = data.cost.run_id if data.cost else None
    measured, plans = cost_claim.measured(training), cost_claim.plan(cost)
    if cost or measured:
        tables.append(study_tables.cost_table(measured, cost, cost_run))
    bench, bench_runs = study_tables.bench_rows(store, training, variants)
    tables.append(study_tables.mosaic_bench(bench, bench_runs))
    summary["mosaic_bench"] = bench
    sweeps, strategy = sweep_tables(store, data.sweeps)
    tables += [s.table for s in sweeps]
    summary["sweeps"] = [s.table.name for s in sweeps]
    for t in tables:
        t.write(tables_dir)

    items = {key: run_items(store, r.run_id) for key, r in sorted(training.items(), key=lambda x: x[0])}
    cost_ids = sorted((measured.run_ids if measured else []) + ([cost_run] if plans else []))
    drawn = {"count_distributions": figures.count_distributions(
                 store.artifact_json(data.counts.run_id, "counts.json"), data.counts.run_id, figures_dir)
             if data.counts is not None else [],
             "loss_curves": figures.loss_curves(items, training, figures_dir),
             "cost_ratio": figures.cost_ratio(measured, plans, cost_ids, figures_dir, cost_claim.CLAIMED_MAX),
             "mosaic_bench": figures.mosaic_bench(bench, bench_runs, figures_dir)}
    for name, ids in drawn.items():
        if not ids:  # a figure not drawn this time must not survive from an earlier build
            (figures_dir / f"{name}.png").unlink(missing_ok=True)
    summary["runs"] = {f"{v}/s{s}": r.run_id for (v, s), r in sorted(training.items(), key=lambda x: x[0])}
    summary["seeds"] = {v: sorted(s for x, s in training if x == v) for v in variants}
    summary["judge"] = judge
    summary["items"] = export_items(items, training, results / "items")
    found = findings(training, cost, cost_run, judge, strategy, items)
    summary["claims"] = {f.claim.id: {"paper": f.claim.paper, "evidence": f.evidence, "verdict": f.verdict,
                                      "run_ids": f.run_ids, **({"numbers": f.numbers} if f.numbers else {})}
                         for f in found}
    summary["cost"] = {**cost_claim.numbers(measured, plans), "plan_run_id": cost_run if plans else None}
    write_json(results / "summary.json", finite(summary))
    with atomic_open(results / "REPORT.md") as fh:
        fh.write(render(study, training, judge, found, tables, [t for t in drawn if drawn[t]]))
    write_trail(results / "runs.json",
                build_trail(study, collect_runs(store, data, sweeps, cost), tables, found, drawn))
    return summary
