"""The import layers of docs/architecture.md hold: no app imports one above it, and no two apps import each other.

Every module of every app is parsed (migrations included) and every import counted, also the ones inside
functions, so a cycle cannot hide in a function body. The layer order is read from the architecture page, so the
page and this test cannot drift apart. The project's URLconf and settings are the composition root that wires
all apps together; they are the one exception.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
COMPOSITION_ROOT = ("qualitygov/urls.py", "qualitygov/settings/")


def layers() -> list[list[str]]:
    """[["qualitygov", "notifications"], ["releases", ...], ["metrics"], ...] from the page's layer line."""
    match = re.search(r"^\*\*Layers: (.+)\*\*$", DOC.read_text(), re.M)
    assert match, "docs/architecture.md lost its '**Layers: ... **' line"
    found = []
    for part in match.group(1).split(" -> "):
        inner = re.search(r"\((.+)\)", part)
        found.append([a.strip() for a in (inner.group(1) if inner else part).split(",")])
    return found


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """(absolute module name, line) of every import in the file, wherever it sits."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path)[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.append((target, node.lineno))
    return found


def app_imports() -> dict[tuple[str, str], list[str]]:
    """(importing app, imported app) -> ["path:line", ...] over every module of the apps in the layers."""
    apps = {app for layer in layers() for app in layer}
    edges: dict[tuple[str, str], list[str]] = {}
    for app in sorted(apps):
        for path in sorted((ROOT / app).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            if where.startswith(COMPOSITION_ROOT):
                continue
            for module, line in imported_modules(path):
                other = module.split(".")[0]
                if other in apps and other != app:
                    edges.setdefault((app, other), []).append(f"{where}:{line}")
    return edges


def test_the_layer_line_names_the_apps_on_disk():
    names = [app for layer in layers() for app in layer]
    assert names[:1] == ["qualitygov"] and names[-1] == "demo"
    assert len(names) == len(set(names))
    apps_on_disk = {p.parent.name for p in ROOT.glob("*/apps.py")}
    # every Django app of the project has its place in the order (an app still being added may be named early)
    assert apps_on_disk <= set(names), apps_on_disk - set(names)


def test_no_app_imports_an_app_above_it():
    rank = {app: i for i, layer in enumerate(layers()) for app in layer}
    upward = {
        f"{low} -> {high}": where for (low, high), where in app_imports().items() if rank[high] > rank[low]
    }
    assert upward == {}, "imports against the layer order (docs/architecture.md):\n" + "\n".join(
        f"{edge}: {', '.join(where)}" for edge, where in sorted(upward.items())
    )


def test_no_two_apps_import_each_other_even_through_others():
    edges = app_imports()
    graph: dict[str, set[str]] = {}
    for low, high in edges:
        graph.setdefault(low, set()).add(high)

    def reaches(start: str, goal: str) -> list[str] | None:
        stack, seen = [[start]], {start}
        while stack:
            path = stack.pop()
            for nxt in sorted(graph.get(path[-1], ())):
                if nxt == goal:
                    return [*path, nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append([*path, nxt])
        return None

    cycles = []
    for (a, b), where in sorted(edges.items()):
        back = reaches(b, a)
        if back:
            cycles.append(f"{a} -> {' -> '.join(back)} (first arrow at {where[0]})")
    assert cycles == [], "import cycles between apps:\n" + "\n".join(cycles)


def test_the_walk_sees_function_local_and_relative_imports():
    """The walker itself: an import inside a function and a relative import are both found (or the test above
    could pass while a cycle hides in a function body)."""
    package = ROOT / "gates" / "services"
    found = {module for module, _ in imported_modules(package / "signoffs.py")}
    assert "gates.models" in found and "gates.services.audit" in found  # `from ..models`, `from .audit`
    sample = ROOT / "metrics" / "apps.py"
    found = {module for module, _ in imported_modules(sample)}
    assert "measures" in found  # imported inside ready()


MAX_MODULE_LINES = 500
# Generated or data-like code that the limit does not cover (issue 11: "no module outside migrations and tests").
NOT_LIMITED = {"migrations", "tests", "corpus"}


def limited_modules() -> list[Path]:
    """Every Python module of the repository the size limit covers: not migrations, tests or the test corpus, and
    nothing in a hidden or build folder (.venv, site)."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if NOT_LIMITED & set(parts) or any(p.startswith(".") or p in {"site", "build"} for p in parts[:-1]):
            continue
        found.append(path)
    return found


def test_no_module_outside_migrations_and_tests_exceeds_500_lines():
    too_long = {}
    for path in limited_modules():
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            too_long[path.relative_to(ROOT).as_posix()] = lines
    assert too_long == {}, f"modules over {MAX_MODULE_LINES} lines (split them by job): {too_long}"


def test_the_size_walk_sees_the_apps_and_skips_tests_and_migrations():
    """The walker itself: it reads the apps' modules and leaves out what the limit does not cover."""
    seen = {path.relative_to(ROOT).as_posix() for path in limited_modules()}
    assert {"defects/views.py", "gates/services/evaluation.py", "manage.py"} <= seen
    assert not any(p.startswith(("tests/", ".venv/", "corpus/")) or "/migrations/" in p for p in seen)
