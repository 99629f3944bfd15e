"""Progress of counted work (prompts generated, items scored) a researcher can follow: a tqdm bar on a
terminal, else (logs, CI, Hydra jobs) one line per update with the count, the elapsed time and an ETA
from the mean pace so far. ``clock`` is the one time format of every progress and status line."""
from __future__ import annotations

import sys
import time


def clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class CountProgress:
    """``update(n)`` after each chunk of ``total`` units; ``enabled=False`` prints nothing."""

    def __init__(self, total: int, label: str, unit: str, stream=None, bar: bool | None = None,
                 enabled: bool = True):
        self.total, self.label, self.unit, self.done = total, label, unit, 0
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.enabled = enabled and total > 0
        self.bar = None
        if self.enabled and (self.stream.isatty() if bar is None else bar):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=label, unit=unit, file=self.stream)

    def line(self) -> str:
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        return (f"[{self.label}] {self.done}/{self.total} {self.unit}s  elapsed {clock(elapsed)}"
                + (f"  ETA {clock(eta)}" if self.done else ""))

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(n)
            if self.done >= self.total:
                self.bar.close()
        else:
            print(self.line(), file=self.stream, flush=True)
