"""A small purpose-written pytest suite for the JUnit corpus: run by scripts/corpus.sh, not by `make test`.

It covers what the identity and rerun rules must get right: a pass, a plain failure, an error in a fixture,
a skip, an expected failure, a test that fails once and passes on its rerun (flaky), a test that fails on
every attempt (failed, not flaky), and parametrised invocations (separate tests, one of them failing).
"""

import pytest

_ATTEMPTS: dict[str, int] = {}


def _attempt(key: str) -> int:
    _ATTEMPTS[key] = _ATTEMPTS.get(key, 0) + 1
    return _ATTEMPTS[key]


def test_passes():
    assert 1 + 1 == 2


def test_fails_plainly():
    assert "left" == "right"


@pytest.fixture
def broken_fixture():
    raise RuntimeError("fixture could not start")


def test_errors_in_fixture(broken_fixture):
    assert broken_fixture


@pytest.mark.skip(reason="not on this platform")
def test_skipped():
    raise AssertionError("never runs")


@pytest.mark.xfail(reason="known bug", strict=False)
def test_expected_failure():
    raise AssertionError("known bug")


@pytest.mark.flaky(reruns=2)
def test_fails_once_then_passes():
    assert _attempt("once") > 1, "first attempt fails"


@pytest.mark.flaky(reruns=2)
def test_fails_every_attempt():
    assert _attempt("always") < 0, "fails on every attempt"


@pytest.mark.parametrize("value", [1, 2, 3])
def test_parametrised(value):
    assert value != 2


class TestGrouped:
    def test_passes(self):
        assert True
