"""Tests for the verifiable-task generator and checker (mosaic.data.verifiable)."""
from __future__ import annotations

import ast
import datetime
import operator
import re
from collections import defaultdict
from decimal import Decimal

import pytest

from mosaic.data import facts
from mosaic.data import verifiable as vt
from mosaic.data.verifiable import FAMILIES, SPLITS, VerifiableTask, check, generate, split_of, to_record
from mosaic.data.verifiable.families import BUILDERS

NUMERIC = {"arith_add", "arith_sub", "arith_mul", "arith_mixed", "percent_of", "unit_convert",
           "count_char", "count_words", "vowel_count", "list_extreme", "list_sum"}
LISTS = {"sort_numbers", "sort_words", "dedupe_list"}


@pytest.fixture(scope="module")
def per_family() -> dict[str, list[VerifiableTask]]:
    tasks = generate("train", 300 * len(FAMILIES), seed=0)
    by_family: dict[str, list[VerifiableTask]] = defaultdict(list)
    for t in tasks:
        by_family[t.family].append(t)
    return dict(by_family)


def _num(text: str) -> Decimal:
    return Decimal(text)


def _items(text: str) -> list[str]:
    return [x.strip() for x in text.split(",")]


# --------------------------------------------------------------------------- API basics

def test_family_and_split_constants():
    assert len(FAMILIES) >= 14
    assert len(set(FAMILIES)) == len(FAMILIES)
    assert SPLITS == ("train", "heldout")


def test_task_fields_and_ids(per_family):
    for fam, tasks in per_family.items():
        for t in tasks[:50]:
            assert re.fullmatch(rf"vt-{fam}-[0-9a-f]{{8}}", t.id)
            assert t.instruction.strip() and t.answer == t.answer.strip()
            assert not t.answer.endswith(".")
            assert re.search(r"\b(only|just)\b", t.instruction), t.instruction


def test_to_record_fields():
    t = generate("train", 3, seed=5, families=["sort_words"])[0]
    rec = to_record(t)
    assert rec == {"id": t.id, "instruction": t.instruction, "input": t.input,
                   "output": t.answer, "source": "verifiable/sort_words"}


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        generate("test", 5)
    with pytest.raises(ValueError):
        generate("train", -1)
    with pytest.raises(ValueError):
        generate("train", 5, families=["no_such_family"])
    with pytest.raises(ValueError):
        generate("train", 5, families=[])
    assert generate("train", 0) == []


def test_running_dry_raises_value_error(monkeypatch):
    # a family whose parameter space holds a single task must fail loudly, not loop forever
    monkeypatch.setitem(BUILDERS, "arith_add", lambda rng: ("1+1", "What is 1 + 1? Give only the number.", "", "2"))
    split = split_of(vt.task_key("arith_add", "1+1"))
    assert len(generate(split, 1, families=["arith_add"])) == 1
    with pytest.raises(ValueError, match="arith_add"):
        generate(split, 2, families=["arith_add"])


# --------------------------------------------------------------------------- determinism, splits

def test_deterministic_and_seed_dependent():
    a = generate("train", 200, seed=3)
    assert a == generate("train", 200, seed=3)
    assert a != generate("train", 200, seed=4)
    assert generate("heldout", 60, seed=1, families=["format_date", "list_sum"]) == \
        generate("heldout", 60, seed=1, families=["format_date", "list_sum"])


def test_round_robin_and_distinct():
    fams = ["arith_add", "sort_words", "table_lookup"]
    tasks = generate("train", 30, seed=2, families=fams)
    assert [t.family for t in tasks] == fams * 10
    assert len({t.id for t in tasks}) == 30
    assert len({(t.instruction, t.input) for t in tasks}) == 30
    full = generate("train", 2 * len(FAMILIES) + 1)
    assert [t.family for t in full[:len(FAMILIES)]] == list(FAMILIES)


def test_splits_disjoint():
    train = generate("train", 1000, seed=0)
    held = generate("heldout", 1000, seed=0)
    assert len(held) == 1000
    assert not {t.id for t in train} & {t.id for t in held}
    assert not {(t.instruction, t.input) for t in train} & {(t.instruction, t.input) for t in held}


def test_split_does_not_depend_on_seed_or_n():
    small = generate("train", 40, seed=0)
    big = generate("train", 400, seed=0)
    assert set(small) <= set(big)
    train_ids = {t.id for s in (0, 1, 2) for n in (57, 380) for t in generate("train", n, seed=s)}
    held_ids = {t.id for s in (0, 1, 2) for n in (57, 380) for t in generate("heldout", n, seed=s)}
    assert not train_ids & held_ids
    # split_of is a pure function of the key with about 20% held out
    keys = [vt.task_key("arith_add", f"{i}+{i + 7}") for i in range(5000)]
    assert [split_of(k) for k in keys] == [split_of(k) for k in keys]
    frac = sum(split_of(k) == "heldout" for k in keys) / len(keys)
    assert 0.17 < frac < 0.23


def test_every_family_has_300_distinct_train_tasks(per_family):
    assert set(per_family) == set(FAMILIES)
    for fam, tasks in per_family.items():
        assert len(tasks) == 300
        assert len({(t.instruction, t.input) for t in tasks}) == 300, fam
        assert len({t.id for t in tasks}) == 300, fam
        # at least three phrasings per family
        assert len({" ".join(t.instruction.split()[:2]) for t in tasks}) >= 3, fam


# --------------------------------------------------------------------------- checker

def _wrong_number(answer: str) -> str:
    return str(_num(answer) + 1)


def test_check_accepts_canonical_and_variants(per_family):
    for fam, tasks in per_family.items():
        for t in tasks[:60]:
            a = t.answer
            assert check(t, a), (fam, a)
            assert check(t, f"  {a}\n"), (fam, a)
            assert check(t, a + "."), (fam, a)
            assert check(t, f" {a}. "), (fam, a)
            if fam in NUMERIC:
                assert check(t, a + ".0") if "." not in a else check(t, a + "0")
                if abs(_num(a)) >= 1000 and "." not in a:
                    assert check(t, f"{int(a):,}"), a
            if fam in LISTS:
                assert check(t, ",".join(_items(a)))
                assert check(t, " ,  ".join(_items(a)))
            if fam in {"reverse_string", "sort_words", "join_words", "format_date"}:
                assert check(t, a.upper()) and check(t, a.title())


def test_check_number_formats():
    t = VerifiableTask("vt-arith_add-00000000", "arith_add", "What is 1000 + 234? Give only the number.", "", "1234")
    for ok in ("1234", "1,234", " 1,234. ", "1234.0", "+1234", "1234.0000000001"):
        assert check(t, ok), ok
    for bad in ("1235", "1233", "12,34", "1 234x", "1234 apples", "one thousand", "1e3", "inf", "nan"):
        assert not check(t, bad), bad
    neg = VerifiableTask("vt-arith_sub-00000000", "arith_sub", "What is 5 - 17? Give only the number.", "", "-12")
    assert check(neg, "-12") and check(neg, "\u221212") and not check(neg, "12")
    dec = VerifiableTask("vt-percent_of-00000000", "percent_of", "What is 12.5% of 37? Give only the number.", "", "4.625")
    assert check(dec, "4.625") and check(dec, "4.6250") and not check(dec, "4.63")


def test_check_rejects_wrong_answers(per_family):
    for fam, tasks in per_family.items():
        for t in tasks[:60]:
            a = t.answer
            assert not check(t, ""), fam
            if fam in NUMERIC or (fam == "table_lookup" and re.fullmatch(r"[\d.]+", a)):
                assert not check(t, _wrong_number(a)), (fam, a)
                assert not check(t, str(_num(a) - 1)), (fam, a)
            elif fam in LISTS:
                items = _items(a)
                if len(set(items)) > 1:
                    assert not check(t, ", ".join(reversed(items))), a
                assert not check(t, ", ".join(items[:-1])), a
                assert not check(t, ", ".join(items + [items[0]])), a
            else:
                assert not check(t, a + "x"), (fam, a)
                assert not check(t, "zebra " + a), (fam, a)
    for t in per_family["case_convert"][:60]:
        assert not check(t, t.answer.swapcase())
    for t in per_family["sort_words"][:30]:
        items = _items(t.answer)
        items[0] = "kumquat"  # not in the word list
        assert not check(t, ", ".join(items))
    for t in per_family["table_lookup"][:60]:
        if not re.fullmatch(r"[\d.]+", t.answer):
            others = {ln.split(" | ")[0] for ln in t.input.splitlines()[1:]} - {t.answer}
            assert not any(check(t, o) for o in others)


@pytest.mark.parametrize("garbage", [
    "", " ", ".", "..", ",", ", ,", "\n\t", "\x00", "∞", "١٢٣", "１２３", "🙂" * 50, "é" * 1000,
    "9" * 5000, "1," * 20000, "-" * 100000, "x" * 1_000_000, "nan", "-inf", "1e999", "0x1F",
    "\ud800", "[1, 2, 3]", "None",
])
def test_check_never_raises(per_family, garbage):
    for tasks in per_family.values():
        for t in tasks[:3]:
            assert check(t, garbage) in (True, False)
    assert check(per_family["arith_add"][0], None) is False  # type: ignore[arg-type]
    odd = VerifiableTask("vt-x-00000000", "not_a_family", "?", "", "yes")
    assert check(odd, "YES") and not check(odd, garbage)


# --------------------------------------------------------------------------- answers recomputed independently

def _ints(text: str) -> list[int]:
    return [int(x) for x in _items(text)]


def test_sort_numbers_recomputed(per_family):
    for t in per_family["sort_numbers"]:
        desc = "descending" in t.instruction
        assert "ascending" in t.instruction or desc
        assert _ints(t.answer) == sorted(_ints(t.input), reverse=desc)


def test_sort_words_recomputed(per_family):
    for t in per_family["sort_words"]:
        desc = "reverse alphabetical" in t.instruction
        assert _items(t.answer) == sorted(_items(t.input), reverse=desc)


def test_list_reductions_recomputed(per_family):
    for t in per_family["list_sum"]:
        assert int(t.answer) == sum(_ints(t.input))
    for t in per_family["list_extreme"]:
        nums = _ints(t.input)
        want = max(nums) if re.search(r"largest|greatest|maximum", t.instruction) else min(nums)
        assert int(t.answer) == want
    for t in per_family["dedupe_list"]:
        seen: list[str] = []
        for item in _items(t.input):
            if item not in seen:
                seen.append(item)
        assert _items(t.answer) == seen and len(seen) < len(_items(t.input))


def test_string_tasks_recomputed(per_family):
    for t in per_family["reverse_string"]:
        assert t.answer == "".join(reversed(t.input))
    for t in per_family["count_words"]:
        assert int(t.answer) == len(t.input.split())
    for t in per_family["vowel_count"]:
        assert int(t.answer) == len(re.findall(r"[aeiou]", t.input.lower()))
    for t in per_family["count_char"]:
        letter = re.search(r"letter ['\"](\w)['\"]|how many '(\w)'", t.instruction)
        assert letter, t.instruction
        ch = letter.group(1) or letter.group(2)
        assert int(t.answer) == t.input.lower().count(ch)
    for t in per_family["case_convert"]:
        if re.search(r"title case|each word|every word", t.instruction):
            assert t.answer == " ".join(w[:1].upper() + w[1:].lower() for w in t.input.split())
        elif re.search(r"uppercase|upper case|capital letters only", t.instruction):
            assert t.answer == t.input.upper()
        else:
            assert t.answer == t.input.lower()
    for t in per_family["join_words"]:
        m = re.search(r'"([^"]+)"|a single space', t.instruction)
        sep = m.group(1) if m and m.group(1) else " "
        assert t.answer == sep.join(_items(t.input))


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def _eval(node: ast.AST) -> int:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.left), _eval(node.right))
    raise AssertionError(f"unexpected expression node {ast.dump(node)}")


def test_arithmetic_recomputed(per_family):
    for t in per_family["arith_add"]:
        assert int(t.answer) == sum(int(x) for x in re.findall(r"\d+", t.instruction))
    for t in per_family["arith_mul"]:
        a, b = (int(x) for x in re.findall(r"\d+", t.instruction))
        assert int(t.answer) == a * b
    for t in per_family["arith_sub"]:
        a, b = (int(x) for x in re.findall(r"\d+", t.instruction))
        want = b - a if t.instruction.startswith("Subtract") else a - b
        assert int(t.answer) == want
    for t in per_family["arith_mixed"]:
        expr = re.search(r"[\d(][\d()+\-* ]*[\d)]", t.instruction).group(0)
        assert int(t.answer) == _eval(ast.parse(expr, mode="eval"))
    for t in per_family["percent_of"]:
        p, base = re.findall(r"\d+(?:\.\d+)?", t.instruction)[:2]
        assert _num(t.answer) == Decimal(p) * Decimal(base) / 100


_FACTORS = {("kilometers", "meters"): 1000, ("kilograms", "grams"): 1000, ("liters", "milliliters"): 1000,
            ("hours", "minutes"): 60, ("centimeters", "millimeters"): 10, ("meters", "centimeters"): 100}
_ABBR = {"km": "kilometers", "m": "meters", "kg": "kilograms", "g": "grams", "L": "liters",
         "mL": "milliliters", "h": "hours", "min": "minutes", "cm": "centimeters", "mm": "millimeters"}


def test_unit_convert_recomputed(per_family):
    for t in per_family["unit_convert"]:
        m = (re.search(r"Convert ([\d.]+) (\w+) to (\w+)\.", t.instruction)
             or re.search(r"Express ([\d.]+) (\w+) in (\w+)\.", t.instruction))
        if m:
            value, src, dst = m.groups()
        else:
            m = re.search(r"How many (\w+) are in ([\d.]+) (\w+)\?", t.instruction)
            assert m, t.instruction
            dst, value, src = m.groups()
        src = _ABBR.get(src, src)
        if (src, dst) in _FACTORS:
            want = Decimal(value) * _FACTORS[(src, dst)]
        else:
            want = Decimal(value) / _FACTORS[(dst, src)]
        assert _num(t.answer) == want, t.instruction


_STRP = {"YYYY-MM-DD": "%Y-%m-%d", "DD/MM/YYYY": "%d/%m/%Y", "MM/DD/YYYY": "%m/%d/%Y",
         "DD.MM.YYYY": "%d.%m.%Y", "YYYY/MM/DD": "%Y/%m/%d", "YYYYMMDD": "%Y%m%d",
         "Month D, YYYY": "%B %d, %Y", "D Month YYYY": "%d %B %Y"}
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


def _render(day: datetime.date, fmt: str) -> str:
    if fmt == "Month D, YYYY":
        return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"
    if fmt == "D Month YYYY":
        return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return day.strftime(_STRP[fmt])


def test_format_date_recomputed(per_family):
    pattern = "|".join(sorted(map(re.escape, _STRP), key=len, reverse=True))
    for t in per_family["format_date"]:
        src_fmt, dst_fmt = re.findall(pattern, t.instruction)[:2]
        shown = re.search(r"[A-Z][a-z]+ \d{1,2}, \d{4}|\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}", t.instruction).group(0)
        day = datetime.datetime.strptime(shown, _STRP[src_fmt]).date()
        assert _render(day, src_fmt) == shown
        assert t.answer == _render(day, dst_fmt), t.instruction


def test_table_lookup_recomputed(per_family):
    for t in per_family["table_lookup"]:
        header, *lines = t.input.splitlines()
        rows = [ln.split(" | ") for ln in lines]
        assert all(len(r) == len(header.split(" | ")) for r in rows)
        named = [r for r in rows if r[0] in t.instruction]
        if re.search(r"\bwhich\b|whose", t.instruction, re.I):
            # reverse lookup: the answer names the single shown row holding the quoted value
            hits = [r for r in rows if any(re.search(rf"\b{re.escape(c)}\b", t.instruction) for c in r[1:])]
            assert len(hits) == 1 and hits[0][0] == t.answer, t.instruction
        else:
            assert len(named) == 1, t.instruction
            assert t.answer in named[0][1:]
        table = next(tb for tb in facts.TABLES if " | ".join(tb.columns) == header)
        assert all(tuple(r) in table.rows for r in rows)


def test_fact_tables_are_well_formed():
    assert len(facts.TABLES) >= 3
    for table in facts.TABLES:
        assert len(table.rows) >= 10
        assert len(table.columns) == len(table.phrases) >= 3
        assert all(len(r) == len(table.columns) for r in table.rows)
        assert len({r[0] for r in table.rows}) == len(table.rows)
        assert table.render().splitlines()[0] == " | ".join(table.columns)
        assert facts.get_table(table.name) is table


def test_the_source_fingerprint_covers_the_package_and_fact_tables_not_bytecode(tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    from mosaic import stages

    pkg = tmp_path / "verifiable"
    shutil.copytree(Path(vt.__file__).parent, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(vt, "__file__", str(pkg / "__init__.py"))
    before = stages.source_fingerprint("verifiable:10")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "lists.cpython-311.pyc").write_bytes(b"bytecode")
    assert stages.source_fingerprint("verifiable:10") == before
    (pkg / "lists.py").write_text((pkg / "lists.py").read_text() + "\n")
    changed = stages.source_fingerprint("verifiable:10")
    assert changed != before
    tables = tmp_path / "facts.py"  # the fact tables behind table_lookup count too
    tables.write_text(Path(facts.__file__).read_text() + "\n")
    monkeypatch.setattr(facts, "__file__", str(tables))
    assert stages.source_fingerprint("verifiable:10") != changed
