from mosaic.report.tables import Table, fmt, latex_escape


def table():
    t = Table("t", "Title with 50% & more", ["variant", "score_a", "note"], "A note.")
    t.add("none", fmt(0.5, 0.25), "a, b", runs=["r2", "r1"])
    t.add("all", fmt(float("nan")), 'say "hi"', runs=["r3"])
    return t


def test_fmt():
    assert fmt(0.12345) == "0.123" and fmt(0.12345, 0.01) == "0.123 ± 0.010"
    assert fmt(float("nan"), 0.1) == "n/a" and fmt(None) == "n/a"
    assert fmt(1.5, digits=5) == "1.50000"


def test_markdown():
    assert table().markdown() == ("# Title with 50% & more\n\nA note.\n\n| variant | score_a | note |\n|---|---|---|\n"
                                  "| none | 0.500 ± 0.250 | a, b |\n| all | n/a | say \"hi\" |\n")
    assert Table("x", "X", ["a"]).markdown() == "# X\n\n| a |\n|---|\n"


def test_csv_quotes_cells():
    assert table().csv() == 'variant,score_a,note\nnone,0.500 ± 0.250,"a, b"\nall,n/a,"say ""hi"""\n'


def test_latex_escaping():
    assert latex_escape(r"a_b & 50% #1 \x ± y") == r"a\_b \& 50\% \#1 \textbackslash{}x $\pm$ y"
    tex = table().latex()
    assert tex.startswith("% Title with 50% & more\n\\begin{tabular}{lll}\n\\toprule\nvariant & score\\_a & note \\\\\n")
    assert "none & 0.500 $\\pm$ 0.250 & a, b \\\\\n" in tex and tex.endswith("\\bottomrule\n\\end{tabular}\n")


def test_runs_by_row_and_key_columns():
    assert table().runs_by_row() == {"none": ["r1", "r2"], "all": ["r3"]}
    t = Table("c", "C", ["regime", "variant", "x"], key_columns=2)
    t.add("dynamic", "original", 1, runs=["c"])
    t.add("dynamic", "original", 2, runs=["d"])  # the same label: merged
    assert t.runs_by_row() == {"dynamic / original": ["c", "d"]}


def test_write_is_atomic_and_complete(tmp_path):
    t = table()
    t.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.md", "t.tex"]
    assert (tmp_path / "t.md").read_text() == t.markdown() and (tmp_path / "t.csv").read_text() == t.csv()
