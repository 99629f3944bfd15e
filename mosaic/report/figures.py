"""The report's figures (matplotlib, Agg): instructions per sample per count distribution (the
paper's Figure 3), loss curves (Figure 4), the cost ratio per batching regime, mosaic-bench accuracy
by k and by rule. PNGs carry no software/date metadata, so a rebuild from the same store is identical.
Each function returns the ids of the runs it drew from (empty when the figure was not drawn)."""
from __future__ import annotations

from pathlib import Path

from .paper import MOSAIC, ORIGINAL

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


def loss_curves(store, training: dict, out: Path) -> list[str]:
    curves = [(v, s, r) for (v, s), r in sorted(training.items(), key=lambda x: x[0]) if v in (ORIGINAL, MOSAIC)]
    if not curves:
        return []
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for v, s, r in curves:
        hist = store.metric_history(r.run_id, "train/loss")
        steps = [step for step, _ in hist]
        total = max(steps) if steps else 1
        ax.plot([x / total for x in steps], [value for _, value in hist],
                color="#dd8452" if v == MOSAIC else "#4c72b0", alpha=0.8,
                label=f"{'Mosaic-IT' if v == MOSAIC else 'original IT'} s{s}")
    ax.set_xlabel("fraction of training")
    ax.set_ylabel("training loss (response tokens)")
    ax.legend(fontsize=7)
    _save(fig, out / "loss_curves.png")
    return sorted(r.run_id for _, _, r in curves)


def cost_ratio(cost: dict, run_id: str, out: Path, paper_ratio: float = 0.2) -> list[str]:
    plt = _plt()
    regimes = sorted(cost["mosaic_over_original"])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    vals = [cost["mosaic_over_original"][r]["device_hours"] for r in regimes]
    ax.bar(regimes, vals, color=["#c44e52" if v > 1 else "#55a868" for v in vals])
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhline(paper_ratio, color="gray", ls="--", lw=0.8, label="paper: 80% lower")
    for i, v in enumerate(vals):
        ax.text(i, v, f"{v:.2f}", ha="center", va="bottom")
    ax.set_ylabel("Mosaic-IT / original device-hours")
    ax.legend(fontsize=8)
    _save(fig, out / "cost_ratio.png")
    return [run_id]


def mosaic_bench(bench: list[dict], bench_runs: dict[tuple, list[str]], out: Path) -> list[str]:
    by_k = [r for r in bench if r["strategy"] == "*" and r["k"] != "*"]
    by_rule = [r for r in bench if "/" in r["strategy"]]
    if not (by_k or by_rule):
        return []
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for v in sorted({r["variant"] for r in by_k}):
        rows = sorted((int(r["k"]), r["both_acc"]) for r in by_k if r["variant"] == v)
        axes[0].plot([k for k, _ in rows], [a for _, a in rows], marker="o", label=v)
    axes[0].set_xlabel("instructions in the prompt (k)")
    axes[0].set_ylabel("structure and content correct")
    axes[0].legend(fontsize=8)
    rules = sorted({r["strategy"] for r in by_rule})
    vs = sorted({r["variant"] for r in by_rule})
    width = 0.8 / max(1, len(vs))
    for j, v in enumerate(vs):
        acc = {r["strategy"]: r["structure_acc"] for r in by_rule if r["variant"] == v}
        axes[1].bar([i + j * width for i in range(len(rules))], [acc.get(r, 0) for r in rules], width, label=v)
    axes[1].set_xticks([i + 0.4 - width / 2 for i in range(len(rules))], rules, rotation=60, ha="right", fontsize=7)
    axes[1].set_ylabel("structure correct")
    axes[1].legend(fontsize=8)
    _save(fig, out / "mosaic_bench.png")
    used = {i for r in by_k + by_rule for i in bench_runs[(r["variant"], r["strategy"], r["k"], r["vocabulary"])]}
    return sorted(used)
