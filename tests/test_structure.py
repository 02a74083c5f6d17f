"""Structure rules of ARCHITECTURE.md, checked on the real code: no import cycle among the project's
modules, the layer rules on what importing a module really loads, and no class over 400 lines."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("annotations", "engine", "gui")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _top_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules imported when `name` is imported (module level, not inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in tree.body:
        found = []
        if isinstance(node, ast.Import):
            found = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = package.split(".")
                pkg = pkg[:len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            found = [f"{base}.{a.name}" for a in node.names] + [base]
        for mod in found:
            while mod and mod not in known:
                mod = mod.rpartition(".")[0]
            if mod and mod != name:
                out.add(mod)
    return out


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_among_the_projects_modules():
    mods = _modules()
    known = set(mods)
    # A package imports its parent package first: drop those edges, they are not cycles in practice.
    graph = {n: {m for m in _top_level_imports(n, p, known) if not n.startswith(m + ".")} for n, p in mods.items()}
    assert find_cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(' '.join(sorted({k.split('.')[0] for k in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_layers_hold_on_what_importing_really_loads():
    mods = sorted(_modules())
    annotations = [m for m in mods if m.split(".")[0] == "annotations"]
    engine = [m for m in mods if m.split(".")[0] == "engine"]
    loaded = _loaded_after_import(annotations)
    assert not loaded & {"torch", "torchvision", "PySide6", "engine", "gui"}, "annotations/ pulls in a forbidden layer"
    loaded = _loaded_after_import(engine)
    assert not loaded & {"PySide6", "gui"}, "engine/ pulls in Qt"


def _feature_modules() -> list[str]:
    """gui.features.FEATURE_MODULES, read from the source (this process stays free of Qt)."""
    tree = ast.parse((ROOT / "gui" / "features.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "FEATURE_MODULES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("gui/features.py has no FEATURE_MODULES")


def test_opening_the_window_module_does_not_import_torch():
    features = _feature_modules()
    assert "gui.explain_view" in features and "gui.label_next_view" in features
    loaded = _loaded_after_import(["gui.main_window", *features])
    assert "torch" not in loaded and "torchvision" not in loaded


def _engine_imports(path: Path) -> set[str]:
    """engine modules a module of engine/ imports anywhere in its source (inside functions too)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("engine.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(["engine"] + ([node.module] if node.module else []))
                out |= {base} if node.module else {f"engine.{a.name}" for a in node.names}
            elif (node.module or "").startswith("engine"):
                out.add(node.module)
    return out


def test_the_model_registry_is_a_leaf():
    """engine.registry needs only the weight cache, the model spec and the model modules, which need
    nothing of the engine but the spec: weights and class mapping build on the registry, never the
    other way round (the old cycle)."""
    assert _engine_imports(ROOT / "engine" / "registry.py") <= {"engine.weight_cache", "engine.models",
                                                                 "engine.model_spec"}
    for leaf in ("weight_cache", "model_spec"):
        assert _engine_imports(ROOT / "engine" / f"{leaf}.py") == set(), leaf
    modules = sorted((ROOT / "engine" / "models").glob("*.py"))
    assert len(modules) >= 3
    for path in modules:
        assert _engine_imports(path) <= {"engine.model_spec"}, path.name


def test_no_class_over_400_lines():
    big = []
    for name, path in {**_modules(), "main": ROOT / "main.py"}.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 400:
                big.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not big, "\n".join(big)


# Private exceptions that are control flow inside one module, never reported to a person.
_CONTROL_FLOW = {"engine.explain.model._Stop", "annotations.formats.yolo._AliasRefused",
                 "gui.canvas.shapes_prefetch._SetAside"}


def test_every_error_class_derives_from_sightline_error():
    classes: dict[str, tuple[str, list[str]]] = {}
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = (f"{name}.{node.name}", [ast.unparse(b).split(".")[-1] for b in node.bases])

    def is_exception(cls: str) -> bool:
        if cls in classes:
            return any(is_exception(b) for b in classes[cls][1])
        return cls.endswith(("Error", "Exception")) or cls in ("BaseException", "KeyboardInterrupt")

    def derives(cls: str) -> bool:
        return cls == "SightlineError" or (cls in classes and any(derives(b) for b in classes[cls][1]))
    bad = [full for cls, (full, _bases) in classes.items()
           if is_exception(cls) and not derives(cls) and full not in _CONTROL_FLOW]
    assert not bad, bad


# The engine owns policy, each piece in one place: (what, name defined, the one module defining it).
_POLICIES = [
    ("storing predictions", "store_predictions", "engine.prediction_store"),
    ("the device resolver", "resolve_device", "engine.device"),
    ("the precision resolver", "check_precision", "engine.device"),
    ("the cancellation token", "CancelToken", "annotations.errors"),
    ("the cancellation exception", "Cancelled", "annotations.errors"),
    ("the error base", "SightlineError", "annotations.errors"),
    ("COCO ground truth from the store", "ground_truth", "engine.evaluation.project_data"),
]


def test_each_policy_is_defined_once():
    where: dict[str, list[str]] = {}
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                where.setdefault(node.name, []).append(name)
    wrong = {what: where.get(fn) for what, fn, module in _POLICIES if where.get(fn) != [module]}
    assert not wrong, wrong




def _pinned_packages() -> set[str]:
    names = set()
    for line in (ROOT / "requirements" / "runtime.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.add(line.split("==")[0].strip().lower().replace("-", "_"))
    return names


def _import_fallbacks(tree: ast.AST) -> set[str]:
    """Top-level names imported inside a `try` whose handlers catch ImportError / ModuleNotFoundError."""
    out = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = {n.id for h in node.handlers if h.type is not None
                  for n in ast.walk(h.type) if isinstance(n, ast.Name)}
        if not caught & {"ImportError", "ModuleNotFoundError"}:
            continue
        for stmt in node.body:
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.Import):
                    out |= {a.name.split(".")[0] for a in sub.names}
                elif isinstance(sub, ast.ImportFrom):
                    out.add("." if sub.level else (sub.module or "").split(".")[0])
    return out


def test_no_fallback_for_a_module_that_is_always_there():
    """A project module or a pinned dependency is always importable: no `except ImportError` for it."""
    always = _pinned_packages() | set(PACKAGES) | {".", "main", "pyside6", "cv2", "yaml"}
    found = set()
    for name, path in _modules().items():
        for mod in _import_fallbacks(ast.parse(path.read_text(encoding="utf-8"))):
            if mod.lower() in always or mod in PACKAGES:
                found.add((name, mod))
    assert not found, sorted(found)
    assert _import_fallbacks(ast.parse("try:\n    from .canvas import CanvasWidget\nexcept ImportError:\n"
                                       "    CanvasWidget = None\n")) == {"."}
