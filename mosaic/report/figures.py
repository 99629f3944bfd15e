"""The report's figures (matplotlib, Agg): instructions per sample per count distribution (the
paper's Figure 3), held-out loss against real training tokens (Figure 4 done comparably), the cost
ratio (measured, and plan arithmetic per batching regime), mosaic-bench accuracy by k and by rule.
Every estimate over seeds or items carries its 95% interval: Student t over seeds for curves,
the ratio bootstrap for measured cost, Wilson for accuracies over items. Panels with nothing but
zeros are not drawn. PNGs carry no software/date metadata, so a rebuild from the same store is
identical. Each function returns the ids of the runs it drew from (empty when not drawn)."""
from __future__ import annotations

import math
from pathlib import Path

from .paper import COMPUTE_MATCHED, LABELS, MOSAIC, ORIGINAL, TEMPLATE_RANDOM
from .stats import mean_ci

COLOURS = {ORIGINAL: "#4c72b0", MOSAIC: "#dd8452", TEMPLATE_RANDOM: "#55a868", COMPUTE_MATCHED: "#8172b3"}

META = {"Software": None}
DPI = 110


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI, metadata=META)
    _plt().close(fig)


def count_distributions(counts: dict, run_id: str, out: Path) -> list[str]:
    plt = _plt()
    fig, axes = plt.subplots(1, len(counts), figsize=(3 * len(counts), 2.6), sharey=True)
    for ax, (mode, c) in zip(axes, sorted(counts.items())):
        total = sum(c["histogram"].values())
        ks = sorted(int(k) for k in c["histogram"])
        ax.bar(ks, [c["histogram"][str(k)] / total for k in ks], color="#4c72b0", label="observed")
        pk = sorted(int(k) for k in c["expected_pmf"])
        ax.plot(pk, [c["expected_pmf"][str(k)] for k in pk], "k.", label="expected (unconstrained)")
        ax.set_title(f"{mode} (mean {c['mean']:.1f})", fontsize=9)
        ax.set_xlabel("instructions per sample")
    axes[0].set_ylabel("fraction of samples")
    axes[0].legend(fontsize=7)
    _save(fig, out / "count_distributions.png")
    return [run_id]


def heldout_curves(items: dict, set_name: str = "single") -> dict[str, dict[int, list[tuple[float, float]]]]:
    """variant -> seed -> [(real tokens seen, mean NLL per token of the set)], from the held-out rows."""
    out: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for (v, seed), sources in sorted(items.items(), key=lambda x: x[0]):
        points: dict[float, list[float]] = {}
        for r in sources.get("heldout", []):
            if r["set"] == set_name:
                points.setdefault(float(r["real_tokens_seen"]), []).append(r["nll_sum"] / max(1, r["tokens"]))
        if points:
            out.setdefault(v, {})[seed] = sorted((x, sum(n) / len(n)) for x, n in points.items())
    return out


def interpolate(points: list[tuple[float, float]], x: float) -> float:
    """The piecewise-linear curve through sorted ``points`` at ``x`` (within their range)."""
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    if points and x == points[0][0]:
        return points[0][1]
    raise ValueError(f"x = {x} is outside the curve's range {points[0][0]}..{points[-1][0]}")


def seed_band(curves: dict[int, list[tuple[float, float]]]) -> tuple[list[float], list[tuple[float, float, int]]]:
    """Seeds probe at different real-token counts (batches differ by seed), so each seed's curve is read
    linearly at every probe point of any seed up to the range all seeds reached: (grid, mean_ci per x)."""
    reach = min(c[-1][0] for c in curves.values())
    grid = sorted({x for c in curves.values() for x, _ in c if x <= reach})
    return grid, [mean_ci([interpolate(c, x) for c in curves.values()]) for x in grid]


def loss_curves(items: dict, training: dict, out: Path) -> list[str]:
    """Held-out response NLL (single-instruction format) against real training tokens seen, mean over
    seeds with a 95% t band, per arm, up to the tokens every seed of the arm reached; arms probed only at
    the start and the end are dotted. Training losses are not drawn: they are on different targets for
    each arm."""
    curves = heldout_curves(items)
    if not curves:
        return []
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for v, per_seed in sorted(curves.items(), key=lambda x: (x[0] not in COLOURS, x[0])):
        xs, stats = seed_band(per_seed)
        ys = [m for m, _, _ in stats]
        hs = [0.0 if math.isnan(h) else h for _, h, _ in stats]
        line = ax.plot(xs, ys, marker="o", ms=3, color=COLOURS.get(v), label=f"{LABELS.get(v, v)} ({len(per_seed)} seeds)",
                       ls="-" if max(len(c) for c in per_seed.values()) > 2 else ":")[0]
        ax.fill_between(xs, [y - h for y, h in zip(ys, hs)], [y + h for y, h in zip(ys, hs)],
                        color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("real training tokens seen")
    ax.set_ylabel("held-out response NLL per token")
    ax.set_title("held-out loss, single-instruction format (95% t band over seeds; dotted: start and end only)",
                 fontsize=8)
    ax.legend(fontsize=7)
    _save(fig, out / "loss_curves.png")
    return sorted(r.run_id for (v, s), r in training.items() if (v, s) in items and items[(v, s)].get("heldout"))


def cost_ratio(measured, plans: dict, run_ids: list[str], out: Path, claimed_max: float = 0.2) -> list[str]:
    """Mosaic-IT / original device-hours: the measured ratio of the study's runs (with its bootstrap
    interval) and, hatched, the plan arithmetic of each batching regime."""
    bars = []
    if measured is not None and measured.device_hours is not None:
        iv = measured.device_hours
        bars.append((f"measured\n({measured.regime})", iv.estimate, (iv.estimate - iv.lo, iv.hi - iv.estimate), ""))
    bars += [(f"plan: {r}", q["device_hours"], None, "//") for r, q in plans.items() if "device_hours" in q]
    if not bars:
        return []
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    for i, (label, v, err, hatch) in enumerate(bars):
        ax.bar(i, v, color="#c44e52" if v > 1 else "#55a868", hatch=hatch, edgecolor="k", lw=0.5,
               yerr=None if err is None else [[err[0]], [err[1]]], capsize=4)
        ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhline(claimed_max, color="gray", ls="--", lw=0.8, label="paper: 80% lower")
    ax.set_ylabel("Mosaic-IT / original device-hours")
    ax.set_title("measured: 95% bootstrap over seeds; hatched: plan arithmetic", fontsize=8)
    ax.legend(fontsize=8)
    _save(fig, out / "cost_ratio.png")
    return sorted(run_ids)


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion (successes may be a mean times n)."""
    if n <= 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _err(acc: float, n: int) -> tuple[float, float]:
    lo, hi = wilson(acc * n, n)
    return (acc - lo, hi - acc) if n else (0.0, 0.0)


def _bars(ax, rows: list[dict], key: str, metric: str) -> None:
    """Grouped bars of ``metric`` by ``rows[key]``, one colour per arm, Wilson intervals over items."""
    cats = sorted({r[key] for r in rows}, key=lambda c: (len(str(c)), str(c)))  # "10" after "9"
    vs = sorted({r["variant"] for r in rows}, key=lambda v: (v not in COLOURS, v))
    width = 0.8 / max(1, len(vs))
    for j, v in enumerate(vs):
        got = {r[key]: (r[metric], r.get("n", 0)) for r in rows if r["variant"] == v}
        accs = [got.get(c, (0.0, 0)) for c in cats]
        errs = list(zip(*[_err(a, n) for a, n in accs]))
        ax.bar([i + j * width for i in range(len(cats))], [a for a, _ in accs], width, yerr=errs, capsize=2,
               label=LABELS.get(v, v), color=COLOURS.get(v))
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(cats))],
                  [f"{c}\n(n={max(r.get('n', 0) for r in rows if r[key] == c)})" for c in cats], fontsize=7)


def mosaic_bench(bench: list[dict], bench_runs: dict[tuple, list[str]], out: Path) -> list[str]:
    """Accuracy by k (structure and content), and structure accuracy by vocabulary (only held-out
    vocabulary is evidence of a skill) and by strategy, with 95% Wilson intervals over the items behind
    each bar (``n``: items x seeds); a panel whose values are all 0 is left out."""
    marginal = [r for r in bench if r["k"] == "*" and r["vocabulary"] == "*"]
    candidates = (("k", [r for r in bench if r["strategy"] == "*" and r["k"] != "*" and r["vocabulary"] == "*"],
                   "both_acc", "structure and content correct", "instructions in the prompt (k)"),
                  ("vocabulary", [r for r in bench if r["strategy"] == "*" and r["k"] == "*" and r["vocabulary"] != "*"],
                   "structure_acc", "structure correct", "meta-instruction vocabulary"),
                  ("strategy", [r for r in marginal if r["strategy"] != "*" and "/" not in r["strategy"]],
                   "structure_acc", "structure correct", "strategy"))
    panels = [c for c in candidates if any(r[c[2]] > 0 for r in c[1])]
    if not panels:
        return []
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False)
    for ax, (key, rows, metric, ylabel, xlabel) in zip(axes[0], panels):
        _bars(ax, rows, key, metric)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_title("95% Wilson interval over items", fontsize=8)
        ax.legend(fontsize=7)
    _save(fig, out / "mosaic_bench.png")
    used = {i for _, rows, *_ in panels for r in rows
            for i in bench_runs[(r["variant"], r["strategy"], r["k"], r["vocabulary"])]}
    return sorted(used)
