"""The README's headline: the claims table of ``results/REPORT.md``, copied between two markers by
``make report`` (and ``make reproduce``), so the README and the report cannot disagree; a test
compares the committed README with the committed report."""
from __future__ import annotations

from pathlib import Path

from mosaic.data.io import atomic_open

START = "<!-- headline: generated from results/REPORT.md by `make report`; do not edit by hand -->"
END = "<!-- end of headline -->"
HEADER = "| claim (paper) |"


def claims_table(report: str) -> str:
    """The claims table of a REPORT.md: its header line and every table line after it."""
    lines = report.splitlines()
    try:
        first = next(i for i, line in enumerate(lines) if line.startswith(HEADER))
    except StopIteration:
        raise ValueError(f"REPORT.md has no claims table (no line starting {HEADER!r})") from None
    last = first
    while last + 1 < len(lines) and lines[last + 1].startswith("|"):
        last += 1
    return "\n".join(lines[first:last + 1])


def headline_block(report: str) -> str:
    study = next((line for line in report.splitlines() if line.startswith("Study ")), "")
    lead = study.split(". Every number")[0] + "." if study else ""
    return "\n".join([START, "", lead, "", claims_table(report), "", END])


def with_headline(readme: str, block: str, name: str = "README.md") -> str:
    """``readme`` with the text from START to END (inclusive) replaced by ``block``."""
    if readme.count(START) != 1 or readme.count(END) != 1 or readme.index(START) > readme.index(END):
        raise ValueError(f"{name}: needs exactly one headline start marker {START!r} followed by one end marker "
                         f"{END!r}")
    head, rest = readme.split(START, 1)
    return head + block + rest.split(END, 1)[1]


def current_block(readme: str) -> str:
    """The headline block as the README has it now."""
    if START not in readme or END not in readme:
        raise ValueError(f"README.md has no headline markers ({START!r} ... {END!r})")
    return START + readme.split(START, 1)[1].split(END, 1)[0] + END


def sync_readme(readme: Path, report: Path) -> bool:
    """Rewrite the README's headline from ``report``; True when it changed."""
    text = readme.read_text()
    new = with_headline(text, headline_block(report.read_text()), str(readme))
    if new == text:
        return False
    with atomic_open(readme) as fh:
        fh.write(new)
    return True
