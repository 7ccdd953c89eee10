"""Guard: notifications sits in the core layer. None of its modules imports an app above it; producers import it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ABOVE = {"releases", "defects", "testing", "incidents", "measures", "metrics", "gates", "dashboards", "demo"}


def _imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "path", sorted((ROOT / "notifications").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_notifications_imports_no_app_above_it(path):
    assert not (_imported_apps(path) & ABOVE), (
        f"{path.relative_to(ROOT)} imports {_imported_apps(path) & ABOVE}"
    )


def test_the_guard_sees_the_producers_importing_it():
    assert "notifications" in _imported_apps(ROOT / "defects" / "notices.py")
    assert "notifications" in _imported_apps(ROOT / "gates" / "notices.py")
