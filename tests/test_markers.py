"""The marker guards in tests/conftest.py: Playwright tests must be marked `browser`, real-worker tests `worker`;
and its order: the slowest modules first."""

from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import SLOW_FIRST, pytest_collection_modifyitems, require_marker, slow_modules_first


class FakeItem:
    def __init__(self, nodeid, fixturenames, markers=()):
        self.nodeid, self.fixturenames, self._markers = nodeid, fixturenames, set(markers)

    def get_closest_marker(self, name):
        return name if name in self._markers else None


def test_an_unmarked_test_using_the_browser_stops_the_run_at_collection():
    items = [
        FakeItem("t.py::ok", ["db", "browser", "page"], {"browser"}),
        FakeItem("t.py::no_browser", ["db"]),
        FakeItem("t.py::unmarked", ["db", "browser", "live_server", "page"]),
    ]
    with pytest.raises(pytest.UsageError, match=r"marked @pytest.mark.browser: t.py::unmarked$"):
        pytest_collection_modifyitems(None, items)
    pytest_collection_modifyitems(None, items[:2])  # all honest: no error


def test_starting_a_worker_from_an_unmarked_test_fails_it(monkeypatch):
    monkeypatch.setitem(conftest._running, "item", FakeItem("t.py::unmarked", ["db"]))
    with pytest.raises(
        pytest.fail.Exception, match="t.py::unmarked starts a real Celery worker but is not marked"
    ):
        require_marker("worker", "starts a real Celery worker")
    monkeypatch.setitem(conftest._running, "item", FakeItem("t.py::marked", ["db"], {"worker"}))
    require_marker("worker", "starts a real Celery worker")  # marked: no failure


def test_the_guard_sees_the_running_test(request):
    assert conftest._running["item"] is request.node


def test_the_slowest_modules_run_first_each_in_one_piece_and_in_its_own_order():
    slow, later = SLOW_FIRST[1], SLOW_FIRST[0]
    items = [
        FakeItem("tests/a.py::one", []),
        FakeItem(f"{slow}::first", []),
        FakeItem("tests/a.py::two", []),
        FakeItem(f"{later}::x", []),
        FakeItem(f"{slow}::second", []),
    ]
    slow_modules_first(items)
    assert [i.nodeid for i in items] == [
        f"{later}::x",
        f"{slow}::first",
        f"{slow}::second",
        "tests/a.py::one",
        "tests/a.py::two",
    ]


def test_every_module_named_slow_exists():
    root = Path(__file__).resolve().parent.parent
    assert [path for path in SLOW_FIRST if not (root / path).is_file()] == []
