"""Streaming statistics of an augmentation run: what went in, what came out, what was left out."""
from __future__ import annotations

import bisect
from array import array
from collections import Counter
from dataclasses import dataclass, field

TOKEN_BINS = (0, 128, 256, 512, 768, 1024, 1536, 2048, 3072, 4096)


def percentile(sorted_values, q: float) -> float:
    if not len(sorted_values):
        return 0.0
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo))


@dataclass
class AugmentSummary:
    counts: Counter = field(default_factory=Counter)
    tokens: array = field(default_factory=lambda: array("i"))
    strategies: Counter = field(default_factory=Counter)
    rules: Counter = field(default_factory=Counter)
    per_pass: Counter = field(default_factory=Counter)
    masked_responses: int = 0

    def add(self, sample: dict) -> None:
        self.add_fields(sample["count"], sample["n_tokens"], sample["provenance"])

    def add_fields(self, count: int, n_tokens: int, p: dict) -> None:
        self.counts[count] += 1
        self.tokens.append(n_tokens)
        self.strategies[p["strategy"]] += 1
        if p["rule"]:
            self.rules[f"{p['strategy']}/{p['rule']}"] += 1
        self.per_pass[p["pass"]] += 1
        self.masked_responses += len(p["masked"])

    def merge(self, other: "AugmentSummary") -> None:
        for name in ("counts", "strategies", "rules", "per_pass"):
            getattr(self, name).update(getattr(other, name))
        self.tokens.extend(other.tokens)
        self.masked_responses += other.masked_responses

    def as_dict(self) -> dict:
        n = sum(self.counts.values())
        toks = sorted(self.tokens)
        counts_sorted = sorted(self.counts.elements())
        hist = Counter()
        for t in toks:
            hist[max(bisect.bisect_right(TOKEN_BINS, t) - 1, 0)] += 1  # the last bin starting at or below t
        labels = {i: (f"{b}-{TOKEN_BINS[i + 1] - 1}" if i + 1 < len(TOKEN_BINS) else f">={b}")
                  for i, b in enumerate(TOKEN_BINS)}
        return {
            "samples": n,
            "samples_per_pass": {str(k): v for k, v in sorted(self.per_pass.items())},
            "rows_used": sum(c * m for c, m in self.counts.items()),
            "count": {"mean": (sum(c * m for c, m in self.counts.items()) / n) if n else 0.0,
                      "p50": percentile(counts_sorted, 0.5), "p90": percentile(counts_sorted, 0.9),
                      "max": max(self.counts) if n else 0,
                      "histogram": {str(k): v for k, v in sorted(self.counts.items())}},
            "tokens": {"mean": (sum(toks) / n) if n else 0.0, "p50": percentile(toks, 0.5),
                       "p90": percentile(toks, 0.9), "max": toks[-1] if n else 0,
                       "histogram": {labels[k]: v for k, v in sorted(hist.items())}},
            "strategies": dict(sorted(self.strategies.items())),
            "rules": dict(sorted(self.rules.items())),
            "masked_responses": self.masked_responses,
        }
