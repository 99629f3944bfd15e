"""mosaic.report never imports the evaluation package (not even inside a function), edits no
sys.path, and stays in small modules."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mosaic" / "report"
ENTRY = Path(__file__).resolve().parents[2] / "experiments" / "report.py"


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__"):
            names |= {a.value for a in node.args if isinstance(a, ast.Constant)}
    return names


def test_no_evaluation_import_and_no_sys_path_edits():
    files = sorted(PACKAGE.glob("*.py")) + [ENTRY]
    assert len(files) > 5
    for path in files:
        assert not any(n == "evaluation" or n.startswith("evaluation.") for n in imported(path)), path
        assert "sys.path" not in path.read_text(), path


def test_modules_stay_small():
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 250, path
    assert len(ENTRY.read_text().splitlines()) <= 60


def test_importing_the_package_loads_neither_mlflow_nor_matplotlib():
    import subprocess
    import sys

    code = "import sys, mosaic.report; print('mlflow' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
