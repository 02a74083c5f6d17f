"""The import rules of DESIGN.md, checked on the source (every module, including lazy imports)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "annotations": {"torch", "torchvision", "PySide6", "engine", "gui"},
    "engine": {"PySide6", "gui"},
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def test_layers_import_only_what_design_allows():
    bad = []
    for package, forbidden in FORBIDDEN.items():
        files = list((ROOT / package).rglob("*.py"))
        assert files, f"{package}/ has no modules"
        for f in files:
            for line, mod in _imports(f):
                if mod in forbidden:
                    bad.append(f"{f.relative_to(ROOT)}:{line} imports {mod}")
    assert not bad, "layer rule broken:\n" + "\n".join(bad)


def test_checker_sees_a_violation(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("def f():\n    from PySide6 import QtCore\n")
    assert (2, "PySide6") in list(_imports(f))
