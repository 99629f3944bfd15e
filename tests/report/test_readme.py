"""The README's headline table is the report's claims table: the committed pair agree, and the sync
rewrites only what lies between the markers."""
from pathlib import Path

import pytest

from mosaic.report.readme import END, START, claims_table, current_block, headline_block, sync_readme, with_headline

REPO = Path(__file__).resolve().parents[2]
REPORT = """# Mosaic-IT claims at CPU scale

Study `s`; model m; seeds per arm: none [0]; judge j. Every number is in tables.

| claim (paper) | evidence here | verdict |
|---|---|---|
| a | b | c |

Tables: x.
"""


def test_the_committed_readme_headline_equals_the_committed_report():
    readme = (REPO / "README.md").read_text()
    assert current_block(readme) == headline_block((REPO / "results" / "REPORT.md").read_text()), \
        "README.md's headline differs from results/REPORT.md: run `make report`"


def test_sync_replaces_only_the_block(tmp_path):
    report = tmp_path / "REPORT.md"
    report.write_text(REPORT)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nstale table\n{END}\noutro\n")
    assert sync_readme(readme, report) is True
    text = readme.read_text()
    assert text.startswith("intro\n" + START) and text.endswith(END + "\noutro\n")
    assert "stale" not in text and "| a | b | c |" in text and "Study `s`; model m; seeds per arm: none [0]; judge j." in text
    assert sync_readme(readme, report) is False  # nothing to do the second time
    assert claims_table(REPORT).splitlines() == ["| claim (paper) | evidence here | verdict |", "|---|---|---|",
                                                  "| a | b | c |"]


@pytest.mark.parametrize("readme", ["no markers", f"{END}\n{START}", f"{START}\n{START}\n{END}"])
def test_missing_or_misplaced_markers_are_named(readme):
    with pytest.raises(ValueError, match="headline start marker"):
        with_headline(readme, "x")


def test_a_report_without_claims_is_an_error():
    with pytest.raises(ValueError, match="no claims table"):
        claims_table("# nothing here\n")
