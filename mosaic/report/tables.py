"""A results table rendered as Markdown, CSV and LaTeX, written atomically; each row remembers the
MLflow runs it came from (for ``runs.json``)."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from mosaic.data.io import atomic_open


def fmt(m: float, h: float = float("nan"), digits: int = 3) -> str:
    """``m ± h`` with ``digits`` decimals; ``m`` alone when ``h`` is NaN; ``n/a`` when ``m`` is."""
    if m is None or math.isnan(m):
        return "n/a"
    return f"{m:.{digits}f}" + ("" if math.isnan(h) else f" ± {h:.{digits}f}")


LATEX_ESCAPES = (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("±", r"$\pm$"))


def latex_escape(s: str) -> str:
    for char, escaped in LATEX_ESCAPES:
        s = s.replace(char, escaped)
    return s


class Table:
    """``key_columns``: how many leading cells name a row (its label in ``runs.json``)."""

    def __init__(self, name: str, title: str, columns: list[str], note: str = "", key_columns: int = 1):
        self.name, self.title, self.columns, self.note, self.key_columns = name, title, columns, note, key_columns
        self.rows: list[list[str]] = []
        self.row_runs: list[list[str]] = []

    def add(self, *cells, runs=()) -> None:
        self.rows.append([str(c) for c in cells])
        self.row_runs.append(list(runs))

    def row_label(self, row: list[str]) -> str:
        return " / ".join(row[:self.key_columns])

    def runs_by_row(self) -> dict[str, list[str]]:
        """Row label -> the ids of the runs its numbers came from (rows with the same label merge)."""
        out: dict[str, set[str]] = {}
        for row, runs in zip(self.rows, self.row_runs):
            out.setdefault(self.row_label(row), set()).update(runs)
        return {label: sorted(ids) for label, ids in out.items()}

    def markdown(self) -> str:
        out = f"# {self.title}\n\n" + ("" if not self.note else self.note + "\n\n")
        out += "| " + " | ".join(self.columns) + " |\n|" + "---|" * len(self.columns) + "\n"
        return out + "".join("| " + " | ".join(r) + " |\n" for r in self.rows)

    def csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        w.writerows(self.rows)
        return buf.getvalue()

    def latex(self) -> str:
        head = " & ".join(latex_escape(c) for c in self.columns)
        body = "".join(" & ".join(latex_escape(c) for c in r) + r" \\" + "\n" for r in self.rows)
        return (f"% {self.title}\n\\begin{{tabular}}{{{'l' * len(self.columns)}}}\n\\toprule\n{head} \\\\\n\\midrule\n"
                f"{body}\\bottomrule\n\\end{{tabular}}\n")

    def write(self, directory: Path) -> None:
        for ext, text in (("md", self.markdown()), ("csv", self.csv()), ("tex", self.latex())):
            with atomic_open(Path(directory) / f"{self.name}.{ext}") as fh:
                fh.write(text)
