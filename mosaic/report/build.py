"""``build_report``: everything the report writes, from the MLflow store only, in one pass."""
from __future__ import annotations

from pathlib import Path

from mosaic.data.io import atomic_open, write_json

from . import figures, study_tables
from .claims import CLAIMS, COST_RATIO
from .item_claims import ItemFinding
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
    cost = store.artifact_json(data.cost.run_id, "cost.json") if data.cost else None
    if cost:
        tables.append(study_tables.cost_table(cost, data.cost.run_id))
        summary["cost"] = {"run_id": data.cost.run_id, "mosaic_over_original": cost["mosaic_over_original"]}
    bench, bench_runs = study_tables.bench_rows(store, training, variants)
    tables.append(study_tables.mosaic_bench(bench, bench_runs))
    summary["mosaic_bench"] = bench
    sweeps, strategy = sweep_tables(store, data.sweeps)
    tables += [s.table for s in sweeps]
    summary["sweeps"] = [s.table.name for s in sweeps]
    for t in tables:
        t.write(tables_dir)

    cost_claim = next(c for c in CLAIMS if c.kind == COST_RATIO)
    drawn = {"count_distributions": figures.count_distributions(
                 store.artifact_json(data.counts.run_id, "counts.json"), data.counts.run_id, figures_dir)
             if data.counts is not None else [],
             "loss_curves": figures.loss_curves(store, training, figures_dir),
             "cost_ratio": figures.cost_ratio(cost, data.cost.run_id, figures_dir, cost_claim.bands[0][0])
             if cost else [],
             "mosaic_bench": figures.mosaic_bench(bench, bench_runs, figures_dir)}
    summary["runs"] = {f"{v}/s{s}": r.run_id for (v, s), r in sorted(training.items(), key=lambda x: x[0])}
    summary["judge"] = judge
    items = {key: run_items(store, r.run_id) for key, r in sorted(training.items(), key=lambda x: x[0])}
    summary["items"] = export_items(items, training, results / "items")
    write_json(results / "summary.json", finite(summary))
    found = findings(training, cost, data.cost.run_id if data.cost else None, judge, strategy, items)
    summary["item_claims"] = {f.claim.id: f.numbers for f in found if isinstance(f, ItemFinding)}
    with atomic_open(results / "REPORT.md") as fh:
        fh.write(render(training, judge, found, tables))
    write_trail(results / "runs.json",
                build_trail(study, collect_runs(store, data, sweeps, cost), tables, found, drawn))
    return summary
