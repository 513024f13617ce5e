"""The layout holds: no import circles, imports flow down the layers, no import hidden in a function.

Read from the source with ``ast`` (nothing is imported), so a violation names the module and line.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from closelib.paths import PACKAGE_DIR

# Lower layers never import higher ones. Modules of one subpackage may import each other
# (without circles); the package root (``closelib/__init__``) holds only the version.
LAYERS = {
    "errors": 0,
    "money": 1,
    "periods": 1,
    "paths": 0,
    "files": 0,
    "safenames": 0,
    "yamlfile": 1,
    "params": 2,
    "book": 3,
    "demo": 4,
    "asof": 4,
    "nb": 5,
    "areas": 6,
    "runner": 7,
    "audit": 8,
    "batch": 8,  # close batch: runs closes (runner) and refreshes binders (audit), whose batch table it feeds
    "cli": 9,
    "__main__": 10,
}
# Libraries heavy enough to be imported where they are used (and the CLI, which imports the
# command it runs): the only places a function may import.
LAZY_ALLOWED_PACKAGES = ("cli",)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """``(imported closelib module, line, at top level)`` for every closelib import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("closelib"):
            subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES]
            targets = subs if len(subs) == len(node.names) else [*subs, node.module]
            found += [(t, node.lineno, id(node) in top) for t in targets]
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno, id(node) in top) for a in node.names if a.name.startswith("closelib")]
    return found


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 else -1


def test_every_module_has_a_layer():
    unplaced = sorted({m.split(".")[1] for m in MODULES if "." in m} - set(LAYERS))
    assert not unplaced, f"add these to LAYERS (and to the README's Architecture section): {unplaced}"


def test_no_import_circles():
    graph = {m: {t for t, _, top in _imports(p) if top and t != m} for m, p in MODULES.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_imports_flow_down_the_layers():
    upward = [
        f"{module} (line {line}) imports {target}"
        for module, path in MODULES.items()
        for target, line, _ in _imports(path)
        if target != "closelib" and _layer(target) > _layer(module)
    ]
    assert not upward, "imports that run back up:\n" + "\n".join(upward)


def test_no_closelib_import_hidden_in_a_function():
    hidden = [
        f"{module} (line {line}) imports {target} inside a function"
        for module, path in MODULES.items()
        if not module.startswith(tuple(f"closelib.{p}" for p in LAZY_ALLOWED_PACKAGES))
        for target, line, top in _imports(path)
        if not top
    ]
    assert not hidden, "\n".join(hidden)


@pytest.mark.parametrize("package", ["closelib.book", "closelib.asof", "closelib.params", "closelib.book.load"])
def test_the_book_layer_does_not_import_the_notebook_machinery(package):
    code = (
        f"import sys, {package}; "
        "heavy = [m for m in ('papermill', 'nbconvert', 'nbclient', 'matplotlib') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"importing {package} imported {done.stdout.strip()}"
