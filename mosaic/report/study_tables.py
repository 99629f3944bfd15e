"""The tables of a study: Table 1, judge health, MT-Bench by turn, strategy ablation, cost, the
mosaic-following benchmark. Each builder takes runs already loaded (``store.StudyRuns``) and returns
a :class:`~mosaic.report.tables.Table` whose rows carry their run ids."""
from __future__ import annotations

from .paper import Metric, parse_failure_key
from .stats import mean_ci, metric_values
from .tables import Table, fmt

BENCH_METRICS = ("structure_acc", "content_acc", "both_acc")


def table1(training: dict, variants: list[str], headline: list[Metric], judge: str, model: str) -> tuple[Table, dict]:
    """Table 1 and, per variant, every headline number with its values and run ids (for summary.json)."""
    t = Table("table1", "Table 1 layout: original IT vs Mosaic-IT", ["variant", "seeds"] + [m.label for m in headline],
              f"Mean ± 95% CI over seeds. Judge: {judge}. Model: {model}. "
              "n/a: no judgment parsed (see judging.md) or metric not defined for this eval set.")
    summary = {}
    for v in variants:
        ids = metric_values(training, v, "")[1]
        cells, entry = [], {}
        for metric in headline:
            values, _ = metric_values(training, v, metric.key)
            m, h, n = mean_ci(values)
            cells.append(fmt(m, h))
            entry[metric.key] = {"mean": m, "ci95": h, "n": n, "values": values, "run_ids": ids}
        t.add(v, len(ids), *cells, runs=ids)
        summary[v] = entry
    return t, summary


def references(refs: dict, headline: list[Metric], judge: str) -> Table:
    """Models evaluated as they are (``mosaic eval``, e.g. the untuned starting model): shown beside the
    study for scale, never paired with an arm in a claim."""
    t = Table("references", "Reference models (mosaic eval; not trained in this study)",
              ["model", "seeds"] + [m.label for m in headline],
              f"Mean ± 95% CI over seeds where several; judge {judge}. A reference is not part of any verdict.")
    for name in sorted({v for v, _ in refs}):
        values = {m.key: metric_values(refs, name, m.key)[0] for m in headline}
        ids = metric_values(refs, name, "")[1]
        t.add(name, len(ids), *[fmt(*mean_ci(values[m.key])[:2]) for m in headline], runs=ids)
    return t


def judging(training: dict, variants: list[str], judged: list[str], judge: str) -> Table:
    t = Table("judging", "Judge health: parse-failure rate per adapter", ["variant", "judge"] + judged,
              "Share of judgments that did not parse (mean over seeds); those are excluded from the scores.")
    for v in variants:
        t.add(v, judge, *[fmt(mean_ci(metric_values(training, v, parse_failure_key(a))[0])[0]) for a in judged],
              runs=metric_values(training, v, "")[1])
    return t


def mt_bench_turns(training: dict, variants: list[str], judge: str) -> Table:
    t = Table("mt_bench_turns", "MT-Bench by turn", ["variant", "turn 1", "turn 2", "average"],
              f"Mean ± 95% CI over seeds; judge {judge}. Reviewers flagged a turn-2 drop for Mosaic-IT.")
    for v in variants:
        t.add(v, *[fmt(*mean_ci(metric_values(training, v, f"mt_bench/{k}")[0])[:2])
                   for k in ("turn1", "turn2", "average")], runs=metric_values(training, v, "")[1])
    return t


def strategy_ablation(training: dict, variants: list[str], headline: list[Metric]) -> Table:
    t = Table("strategy_ablation", "Strategy ablation", ["variant"] + [m.label for m in headline],
              "Single-strategy mixes (make reproduce EXTRA=1 or make ablations); seeds as run.")
    for v in variants:
        t.add(v, *[fmt(*mean_ci(metric_values(training, v, m.key)[0])[:2]) for m in headline],
              runs=metric_values(training, v, "")[1])
    return t


def cost_table(measured, cost: dict | None, run_id: str | None) -> Table:
    """The measured training cost of the study's runs (per seed, then the ratio with its interval), then
    the cost run's plan arithmetic for the three batching regimes (cost_claim.py tells which is which)."""
    s = (cost or {}).get("settings", {})
    note = ("measured: the study's own training runs (sum of step times; device-hours = seconds x devices / 3600), "
            "the ratio a mean over seeds with a 95% seed bootstrap. plan: exact counts of each regime's batches over "
            "the real samples, hours = processed tokens / a rate timed on "
            f"{s.get('measured_steps', '?')} step(s) per cell: arithmetic, not a measurement")
    if cost:
        note += (f" (model {s.get('model')}; {s.get('dataset')}, limit {s.get('limit')}; original {s['epochs']} "
                 f"epochs, Mosaic-IT {s['mosaic_epochs']} epoch over its passes)")
    t = Table("cost", "Training cost: original IT vs Mosaic-IT, measured and planned",
              ["source", "regime", "variant", "sequences", "steps", "real tokens", "processed tokens", "padding",
               "TFLOPs", "tok/s", "hours", "device-hours"], note + ".", key_columns=3)
    if measured is not None:
        for seed, arms in sorted(measured.per_seed.items()):
            for v, label in (("none", "original"), ("all", "mosaic")):
                x = arms[v]
                t.add("measured", measured.regime, f"{label} s{seed}", "", "", "", "", "", "", "",
                      f"{(x['train_seconds'] or 0) / 3600:.4f}", f"{x['device_hours']:.4f}", runs=measured.run_ids)
        if measured.device_hours is not None:
            iv, w = measured.device_hours, measured.wall
            t.add("measured", measured.regime, "Mosaic/original", "", "", "", "", "", "", "",
                  f"{w.estimate:.3f} [{w.lo:.3f}, {w.hi:.3f}]" if w else "",
                  f"{iv.estimate:.3f} [{iv.lo:.3f}, {iv.hi:.3f}]", runs=measured.run_ids)
    for r in sorted((cost or {}).get("rows", []), key=lambda r: (r["regime"], r["variant"] != "original")):
        t.add("plan", r["regime"], r["variant"], r["sequences"], r["steps"], r["real_tokens"], r["processed_tokens"],
              f"{r['padding_fraction']:.3f}", f"{r['tflops_executed']:.2f}",
              f"{r['measured_processed_tokens_per_s']:.0f}", f"{r['est_hours']:.4f}", f"{r['est_device_hours']:.4f}",
              runs=[run_id])
    for regime, q in sorted((cost or {}).get("mosaic_over_original", {}).items()):
        t.add("plan", regime, "Mosaic/original", f"{q['sequences']:.3f}", f"{q['steps']:.3f}", f"{q['real_tokens']:.3f}",
              f"{q['processed_tokens']:.3f}", "", f"{q['flops_executed']:.3f}", "", "", f"{q['device_hours']:.3f}",
              runs=[run_id])
    return t


def bench_rows(store, training: dict, variants: list[str]) -> tuple[list[dict], dict[tuple, list[str]]]:
    """The mosaic-bench rows of every training run, averaged over seeds per (variant, strategy, k,
    vocabulary); and the run ids behind each row."""
    acc: dict[tuple, list[dict]] = {}
    ids: dict[tuple, list[str]] = {}
    for (v, s), r in sorted(training.items(), key=lambda x: x[0]):
        info = store.optional_artifact_json(r.run_id, "eval/mosaic_bench/info.json")
        if info is None:  # no benchmark in this run
            continue
        for row in info["tables"]["mosaic_bench"]:
            if row["rule"] == "*" and (row["strategy"] != "*" or row["k"] != "*" or row["vocabulary"] != "*"):
                key = (v, row["strategy"], str(row["k"]), row["vocabulary"])
            elif row["strategy"] == row["rule"] == row["k"] == row["vocabulary"] == "*":
                key = (v, "*", "*", "*")
            elif row["rule"] != "*":
                key = (v, f"{row['strategy']}/{row['rule']}", "*", "*")
            else:
                continue
            acc.setdefault(key, []).append(row)
            ids.setdefault(key, []).append(r.run_id)
    out = [{"variant": v, "strategy": strategy, "k": k, "vocabulary": vocab,
            "n": sum(int(r.get("n", 0)) for r in rows),  # items x seeds behind the means (Wilson intervals)
            **{m: sum(r[m] for r in rows) / len(rows) for m in BENCH_METRICS}}
           for (v, strategy, k, vocab), rows in acc.items()]
    order = {v: i for i, v in enumerate(variants)}
    out.sort(key=lambda r: (order.get(r["variant"], 99), r["strategy"], r["k"], r["vocabulary"]))
    return out, {k: sorted(set(v)) for k, v in ids.items()}


def mosaic_bench(rows: list[dict], runs: dict[tuple, list[str]]) -> Table:
    t = Table("mosaic_bench", "Mosaic-following benchmark (held-out tasks)",
              ["variant", "strategy", "k", "vocabulary", "n", "structure", "content", "both"],
              "Mean over seeds; n = items x seeds; structure = count, tags, order and masking as requested; content = every sub-answer "
              "correct; vocabulary heldout = phrasings and tag styles never seen in training.", key_columns=4)
    for row in rows:
        t.add(row["variant"], row["strategy"], row["k"], row["vocabulary"], row["n"], f"{row['structure_acc']:.3f}",
              f"{row['content_acc']:.3f}", f"{row['both_acc']:.3f}",
              runs=runs[(row["variant"], row["strategy"], row["k"], row["vocabulary"])])
    return t
