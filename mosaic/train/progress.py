"""Training progress a researcher can follow: a tqdm bar on a terminal, else (logs, CI, Hydra jobs) a
line every ``every`` steps and at the last, each with the loss, real tokens/s and an ETA from the
mean step time so far. Passed to the recipe as ``on_step``; it reads the step record only."""
from __future__ import annotations

import sys
import time

from ..progress import clock as _clock


class StepProgress:
    def __init__(self, total: int, label: str, every: int = 10, stream=None, bar: bool | None = None):
        self.total, self.label, self.every = total, label, max(1, every)
        self.stream = stream or sys.stderr
        self.seconds = self.tokens = 0.0
        self.first: int | None = None
        self.started = time.perf_counter()
        use_bar = self.stream.isatty() if bar is None else bar
        self.bar = None
        if use_bar:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=label, unit="step", file=self.stream)

    def line(self, record: dict) -> str:
        step = record["step"]
        done = step - (self.first or step) + 1  # steps timed in this process (a resumed run starts later)
        eta = self.seconds / done * (self.total - step)
        return (f"[train] {self.label}: step {step}/{self.total}  loss {record['loss']:.4f}  "
                f"{self.tokens / max(self.seconds, 1e-9):.0f} real tok/s  elapsed {_clock(time.perf_counter() - self.started)}"
                f"  ETA {_clock(eta)}")

    def __call__(self, record: dict) -> None:
        if self.first is None:
            self.first = record["step"]
        self.seconds += record["seconds"]
        self.tokens += record["real_tokens"]
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{record['loss']:.3f}")
            if record["step"] == self.total:
                self.bar.close()
        elif record["step"] % self.every == 0 or record["step"] == self.total or record["step"] == self.first:
            print(self.line(record), file=self.stream, flush=True)
