"""The real-runner corpus (corpus/reports/, made by `make corpus`): each report uploaded, compared with the
runner's own console output saved beside it (its summary line, and its per-test lines where it prints them).

Nothing here is typed by hand: every expected figure is parsed from the runner's output. Reruns are attempts,
not tests (the contract), so where a runner's line counts reruns (gotestsum counts every attempt, TestNG
counts retried attempts as skips) the test takes them out using the same output's own rerun figures.
"""

import re
from collections import defaultdict
from pathlib import Path

import pytest

from testing import models as tm

REPORTS = Path(__file__).resolve().parents[2] / "corpus" / "reports"


def _output(runner: str) -> str:
    return (REPORTS / runner / "output.txt").read_text()


def _numbers(line: str) -> dict[str, int]:
    return {word.lower(): int(n) for n, word in re.findall(r"(\d+) ([A-Za-z]+)", line)}


def _labelled(line: str) -> dict[str, int]:
    return {word.strip().lower(): int(n) for word, n in re.findall(r"([A-Za-z ]+?): (\d+)", line)}


@pytest.fixture
def upload(release, api_client_for, qa):
    client = api_client_for(qa)

    def _upload(runner: str) -> dict:
        data = (REPORTS / runner / "report.xml").read_bytes()
        response = client.post(
            f"/api/v1/releases/{release.pk}/junit/", data=data, content_type="application/xml"
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert tm.TestResult.objects.filter(run_id=body["run"]).count() == body["test_cases"]
        return body

    return _upload


def _results():
    """{(location, classname, name): (status, flaky, attempts)} of everything stored."""
    return {
        (r.test_case.location, r.test_case.classname, r.test_case.name): (r.status, r.flaky, r.attempts)
        for r in tm.TestResult.objects.select_related("test_case")
    }


def _totals(body: dict) -> tuple:
    return tuple(body[k] for k in ("tests", "passed", "failed", "error", "skipped"))


def test_pytest_with_rerunfailures(upload):
    out = _output("pytest")
    line = [s for s in out.splitlines() if re.match(r"^=+ .*\d+ (passed|failed).* in [\d.]+s", s)][-1]
    n = _numbers(line)
    passed, failed = n.get("passed", 0) + n.get("xpassed", 0), n.get("failed", 0)
    error, skipped = n.get("error", 0) + n.get("errors", 0), n.get("skipped", 0) + n.get("xfailed", 0)
    body = upload("pytest")
    assert _totals(body) == (passed + failed + error + skipped, passed, failed, error, skipped)
    # per test, from pytest -v: every attempt is a line; RERUN lines are the attempts it reran
    attempts = defaultdict(list)
    for nodeid, outcome in re.findall(
        r"^(\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS|RERUN)\b", out, re.M
    ):
        attempts[nodeid].append(outcome)
    results = _results()
    assert sum(a - 1 for _, _, a in results.values()) == n.get("rerun", 0)
    for nodeid, seen in attempts.items():
        path, *parts = nodeid.split("::")
        classname = ".".join([path.removesuffix(".py").replace("/", "."), *parts[:-1]])
        status, flaky, tries = results[("pytest", classname, parts[-1])]
        final = {"PASSED": "passed", "XPASS": "passed", "FAILED": "failed", "ERROR": "error"}.get(
            seen[-1], "skipped"
        )
        assert (status, flaky, tries) == (final, "RERUN" in seen and final == "passed", len(seen)), nodeid


def test_jest_with_jest_junit(upload):
    out = _output("jest")
    n = _numbers(next(s for s in out.splitlines() if s.startswith("Tests:")))
    body = upload("jest")
    skipped = n.get("skipped", 0) + n.get("todo", 0)
    assert _totals(body) == (n["total"], n.get("passed", 0), n.get("failed", 0), 0, skipped)
    # per file (jest --verbose): the titles that failed there, and only there
    failed_in = defaultdict(set)
    current = None
    for line in out.splitlines():
        header = re.match(r"^(PASS|FAIL) \./(\S+)", line)
        if header:
            current = header.group(2)
        elif current and (mark := re.match(r"^\s+✕ (.+?)(?: \(\d+ ms\))?$", line)):
            failed_in[current].add(mark.group(1))
    stored = defaultdict(set)
    for (location, _classname, name), (status, _flaky, _tries) in _results().items():
        if status == "failed":
            stored[location].add(name)
    assert set(stored) == set(failed_in)
    for location, titles in failed_in.items():
        assert {t for t in titles if any(name.endswith(t) for name in stored[location])} == titles


def test_mocha_with_mocha_junit_reporter_including_pending(upload):
    n = _numbers(" ".join(re.findall(r"^\s+(\d+ (?:passing|pending|failing))", _output("mocha"), re.M)))
    body = upload("mocha")
    passed, failed, skipped = n.get("passing", 0), n.get("failing", 0), n.get("pending", 0)
    assert _totals(body) == (passed + failed + skipped, passed, failed, 0, skipped)
    assert len({loc for loc, _, _ in _results()}) == 2  # the same describe in two files: two places


def test_gotestsum_rerun_fails(upload):
    out = _output("go")
    done = _numbers([s for s in out.splitlines() if s.startswith("DONE")][-1])
    attempts = defaultdict(list)
    for outcome, name in re.findall(r"^(PASS|FAIL) (Test\S*)", out, re.M):
        attempts[name].append(outcome)
    for name in re.findall(r"^=== SKIP: \S+ (Test\S*)", out, re.M):
        attempts[name].append("SKIP")
    body = upload("go")
    results = {name: value for (_, _, name), value in _results().items()}
    # gotestsum's DONE line counts every attempt: our attempts add up to it, failed attempts too
    assert sum(tries for _, _, tries in results.values()) == done["tests"]
    assert body["skipped"] == done["skipped"]
    final = {
        name: {"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}[seen[-1]]
        for name, seen in attempts.items()
    }
    assert body["tests"] == len(final) == body["test_cases"]
    assert body["failed"] == sum(1 for s in final.values() if s == "failed")
    failed_attempts = sum(seen.count("FAIL") for seen in attempts.values())
    assert failed_attempts == done["failures"]
    for name, seen in attempts.items():
        flaky = "FAIL" in seen and seen[-1] == "PASS"
        assert results[name] == (final[name], flaky, len(seen)), name


def test_testng_data_provider_and_retry_analyzer(upload):
    out = _output("testng")
    summary = _labelled(next(s for s in out.splitlines() if s.startswith("Total tests run")))
    retried = int(re.search(r"^Retried attempts: (\d+)", out, re.M).group(1))
    body = upload("testng")
    # TestNG counts each retried attempt as a skip; they are attempts of the test that was retried
    tests, failed = summary["total tests run"] - retried, summary["failures"]
    skipped = summary["skips"] - retried
    assert _totals(body) == (tests, tests - failed - skipped, failed, 0, skipped)
    lines = defaultdict(list)
    for outcome, method in re.findall(r"^(PASSED|FAILED|SKIPPED): (\w+)", out, re.M):
        lines[method].append(outcome)
    results = {name: value for (_, _, name), value in _results().items()}
    for method, seen in lines.items():
        status, flaky, _tries = results[method]
        expected = "failed" if "FAILED" in seen else "passed" if "PASSED" in seen else "skipped"
        assert status == expected, method
        assert flaky == (expected == "passed" and "SKIPPED" in seen), method


def test_phpunit(upload):
    line = next(s for s in _output("phpunit").splitlines() if s.startswith(("Tests:", "OK (")))
    n = _labelled(line) if line.startswith("Tests:") else {"tests": _numbers(line)["tests"]}
    body = upload("phpunit")
    error, failed = n.get("errors", 0), n.get("failures", 0)
    skipped = n.get("skipped", 0) + n.get("incomplete", 0)
    assert _totals(body) == (n["tests"], n["tests"] - error - failed - skipped, failed, error, skipped)


_SUREFIRE_SUMMARY = re.compile(
    r"^\[\w+\] Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)(?:, Flakes: (\d+))?$", re.M
)
_SUREFIRE_CLASS = re.compile(
    r"^\[\w+\] Tests run: (\d+), Failures: \d+, Errors: \d+, Skipped: (\d+)(?:, Flakes: \d+)?, "
    r"Time elapsed: .* - in (\S+)$",
    re.M,
)
_SUREFIRE_LISTS = {"Failures:": ("failed", False), "Errors:": ("error", False), "Flakes:": ("passed", True)}


def _surefire_listed(results_section: str, classes: set[str]) -> list[tuple]:
    """Surefire's "Results:" lists: (classname, method, status, flaky, attempts) per test listed. A rerun test is
    `pkg.Class.method(pkg.Class)` followed by one `Run N:` line per attempt; a test run once is
    `Class.method:line message` (simple class name, a parameterised method without its invocation)."""
    listed: list[list] = []
    kind = None
    for line in results_section.splitlines():
        text = re.sub(r"^\[\w+\] ?", "", line)
        if text.strip() in _SUREFIRE_LISTS:
            kind = _SUREFIRE_LISTS[text.strip()]
        elif kind and (run := re.match(r"^\s+Run (\d+): ", text)):
            listed[-1][4] = int(run.group(1))
        elif kind and (rerun := re.match(r"^(\S+)\.(\w+)\((\S+)\)$", text)):
            listed.append([rerun.group(3), rerun.group(2), *kind, 0])
        elif kind and (once := re.match(r"^\s+(\w+)\.(\w+):\d+ ", text)):
            (classname,) = [c for c in classes if c.rsplit(".", 1)[-1] == once.group(1)]
            listed.append([classname, once.group(2), *kind, 1])
    return [tuple(entry) for entry in listed]


def test_maven_surefire_junit4_reruns_and_junit5(upload):
    """Maven with two modules (scripts/corpus.sh): JUnit 4 with rerunFailingTestsCount, JUnit 5 (Surefire 2.22's
    JUnit Platform provider does not rerun). Each module ends with Surefire's summary line, whose `Tests run`
    counts tests, not reruns; its per-class lines count every attempt."""
    out = _output("surefire")
    body = upload("surefire")
    results = _results()
    modules = re.split(r"^\[INFO\] Building ", out, flags=re.M)[1:]
    totals = [0, 0, 0, 0, 0]
    flakes = 0
    classes = set()
    for module in modules:
        if not _SUREFIRE_CLASS.search(module):
            continue  # the parent pom: no tests
        summary = [int(n or 0) for n in _SUREFIRE_SUMMARY.findall(module)[-1]]
        run, failures, errors, skipped, module_flakes = summary
        module_totals = (run, run - failures - errors - skipped, failures, errors, skipped)
        totals = [a + b for a, b in zip(totals, module_totals, strict=True)]
        flakes += module_flakes
        per_class = {name: (int(n), int(s)) for n, s, name in _SUREFIRE_CLASS.findall(module)}
        classes |= set(per_class)
        stored = {key: value for key, value in results.items() if key[1] in per_class}
        # the module's tests by final status, as its summary line counts them
        statuses = [status for status, _flaky, _tries in stored.values()]
        counts = (len(stored), statuses.count("failed"), statuses.count("error"), statuses.count("skipped"))
        assert counts == (run, failures, errors, skipped)
        assert sum(flaky for _status, flaky, _tries in stored.values()) == module_flakes
        # per class: every attempt, and the skips
        for classname, (attempts, class_skipped) in per_class.items():
            mine = [value for key, value in stored.items() if key[1] == classname]
            assert sum(tries for _, _, tries in mine) == attempts, classname
            assert sum(status == "skipped" for status, _, _ in mine) == class_skipped, classname
        # per test: every failed, errored and flaky test Surefire lists, with its attempts; the rest passed once
        section = module.split("[INFO] Results:", 1)[1]
        listed = sorted(_surefire_listed(section, set(per_class)))
        seen = sorted(
            (classname, re.split(r"[({\[]", name, maxsplit=1)[0], status, flaky, tries)
            for (_where, classname, name), (status, flaky, tries) in stored.items()
            if status in ("failed", "error") or flaky
        )
        assert seen == listed
        assert all(tries == 1 for status, flaky, tries in stored.values() if status == "passed" and not flaky)
    # corpus.junit4.CheckoutTest and corpus.jupiter.CheckoutTest, methods of one name in several classes: apart
    assert {classname for _, classname, _ in results} == classes
    assert _totals(body) == tuple(totals)
    assert body["flaky"] == flakes
    assert body["test_cases"] == len(results) == body["tests"]
