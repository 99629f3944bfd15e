"""The import graph of ``mosaic`` and ``evaluation``, read from the sources (every import statement,
at module level or inside a function): no cycles, and ``mosaic`` never imports ``evaluation``."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("mosaic", "evaluation")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Internal modules imported by ``path``: ``from . import x`` resolves to the submodule when it is one.
    (The parent packages Python initialises on the way are not counted: they are not a dependency.)"""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:  # a submodule when it is one, else a name defined in ``target``
                found.add(f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target)
    out = set()
    for target in found:
        while target and target not in modules:  # an attribute of a module, or a name in a package
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")]
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_mosaic_never_imports_evaluation():
    bad = sorted(f"{m} imports {t}" for m, ts in graph().items() if m.split(".")[0] == "mosaic"
                 for t in ts if t.split(".")[0] == "evaluation")
    assert not bad, "; ".join(bad)


def test_the_checker_sees_cycles_and_function_level_imports(tmp_path):
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(g) == [["a", "b", "c"]]
    src = tmp_path / "mosaic" / "x.py"
    src.parent.mkdir()
    src.write_text("def f():\n    from .y import z\n    import evaluation.run\n")
    global REPO
    old, REPO = REPO, tmp_path
    try:
        assert imports_of(src, {"mosaic.x", "mosaic.y", "evaluation.run"}) == {"mosaic.y", "evaluation.run"}
    finally:
        REPO = old


def test_no_module_over_400_lines():
    """Small modules whose names say what they hold (data tables would be exempt; none is this long)."""
    long = [f"{p.relative_to(REPO)}: {n}" for pkg in (*PACKAGES, "experiments") for p in (REPO / pkg).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400]
    assert not long, long
