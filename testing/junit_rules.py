"""How the testcase elements of one report become tests, executions and attempts (the runner dialects).

The contract ("Test identity in JUnit reports" in the metric contract) in short:

* A test's identity is (file or suite, classname, name). Different identities are different tests, even with
  equal classname and name (jest and mocha: the same describe/title in two files).
* Reruns are attempts of one execution, not tests. Where a runner writes them:
  - Surefire: ``<flakyFailure>``/``<flakyError>`` (earlier failed attempts) and ``<rerunFailure>``/``<rerunError>``
    (later failed attempts) inside one ``<testcase>``; any dialect.
  - pytest (pytest-rerunfailures): every attempt is its own ``<testcase>`` of the same identity; the reruns
    are written empty, so an empty element followed by another element of the same identity is a failed attempt.
  - Go (gotestsum ``--rerun-fails``, go-junit-report): every attempt is its own ``<testcase>`` with its own
    outcome; the last decides.
  - TestNG (retry analyzer): the retried attempts are written as ``<skipped/>`` elements of the same identity.
* Anywhere else, repeated elements of one identity are separate executions (TestNG data-provider invocations,
  jest/mocha tests with the same title in one file): each counts in the run's totals and any failing execution
  fails the test. A skipped element never overrides a passed or failed one of the same identity: it is a
  retried attempt (TestNG), so it is not counted as an execution.
* jest-junit writes ``test.todo`` as an empty ``<testcase>`` with time 0 and leaves it out of its suite's
  ``tests`` attribute: in a jest report, when a suite holds exactly as many empty zero-time testcases as it has
  more elements than its ``tests`` attribute says, those are the todos and count as skipped (as jest's own
  summary line separates them from the passes).
* Status of a test: error if an execution errored, else failed if one failed, else passed if one passed, else
  skipped. Flaky: an execution failed or errored and then passed on a rerun.
"""

from __future__ import annotations

from dataclasses import dataclass

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
STATUSES = (PASSED, FAILED, ERROR, SKIPPED)
BAD = frozenset({FAILED, ERROR})

DEFAULT, PYTEST, GO, JEST = "default", "pytest", "go", "jest"
RERUN_DIALECTS = frozenset({PYTEST, GO})


@dataclass(slots=True)
class Element:
    """One ``<testcase>`` element read: its own final status and the statuses of its attempts, in order."""

    status: str
    attempts: tuple[str, ...]
    empty: bool
    duration: float | None
    message: str
    details: str
    keys: set[str]


@dataclass(slots=True)
class ParsedCase:
    """One test of the report (one identity) with its executions and attempts."""

    identity: str
    where: str
    suite: str
    classname: str
    name: str
    status: str = PASSED
    duration: float | None = None
    message: str = ""
    details: str = ""
    attempts: int = 0
    # None until a key is seen, and `done` until a second execution: a million tests hold no empty containers.
    requirement_keys: set[str] | None = None
    # Final statuses of the executions that are complete: [passed, failed, error, skipped].
    done: list[int] | None = None
    # The execution still open to reruns: its final status so far, whether an earlier attempt failed, and
    # whether its last element was written empty (a pytest rerun placeholder).
    current: str | None = None
    current_bad: bool = False
    current_empty: bool = False
    flaky_runs: int = 0
    # Skipped elements outside the rerun dialects: skipped executions when nothing else ran, else retried
    # attempts (TestNG).
    skips: int = 0

    @property
    def title(self) -> str:
        return (f"{self.classname}.{self.name}" if self.classname else self.name)[:500]

    def _ran(self) -> bool:
        return (self.current is not None and self.current != SKIPPED) or (
            self.done is not None and any(self.done[:3])
        )

    @property
    def retried_skips(self) -> int:
        return self.skips if self._ran() else 0

    def executions(self) -> list[int]:
        """Counts of executions by final status: [passed, failed, error, skipped]."""
        counts = list(self.done) if self.done is not None else [0, 0, 0, 0]
        if self.current is not None:
            counts[STATUSES.index(self.current)] += 1
        if not self._ran():
            counts[3] += self.skips
        return counts

    @property
    def flaky(self) -> bool:
        if self.flaky_runs or (self.current == PASSED and self.current_bad):
            return True
        return self.retried_skips > 0 and self.status == PASSED

    def finish(self) -> None:
        """Settle the test's status from its executions (called once all its elements are read)."""
        passed, failed, error, _skipped = self.executions()
        if error:
            self.status = ERROR
        elif failed:
            self.status = FAILED
        elif passed:
            self.status = PASSED
        else:
            self.status = SKIPPED

    def add(self, element: Element, dialect: str) -> None:
        """Fold one more element of this identity in, by the rules of the report's dialect."""
        self.attempts += len(element.attempts)
        if element.keys:
            self.add_keys(element.keys)
        if element.status in BAD or not self.message:
            self.message = element.message or self.message
            self.details = element.details or self.details
        if dialect in RERUN_DIALECTS and self.current is not None:
            # A rerun: the open execution's final attempt so far becomes an earlier attempt.
            earlier = self.current
            if dialect == PYTEST and self.current_empty:
                earlier = (
                    FAILED  # pytest-rerunfailures writes the failed attempt it reran as an empty element
                )
            self.current_bad = (
                self.current_bad or earlier in BAD or bool(BAD.intersection(element.attempts[:-1]))
            )
            self.current = element.status
            self.current_empty = element.empty
            self.duration = element.duration
            return
        if element.status == SKIPPED and dialect not in RERUN_DIALECTS:
            self.skips += 1
            if not self._ran():
                self.duration = element.duration
            return
        if self.current is not None:
            if self.done is None:
                self.done = [0, 0, 0, 0]
            self.done[STATUSES.index(self.current)] += 1
            if self.current == PASSED and self.current_bad:
                self.flaky_runs += 1
        self.current = element.status
        self.current_bad = bool(BAD.intersection(element.attempts[:-1]))
        self.current_empty = element.empty
        self.duration = element.duration

    def add_keys(self, keys: set[str]) -> None:
        self.requirement_keys = keys | self.requirement_keys if self.requirement_keys else set(keys)

    def mark_todo(self) -> bool:
        """A jest todo written as an empty passing element: count it as skipped. False when not that shape."""
        if self.current != PASSED or self.done is not None or self.skips or not self.current_empty:
            return False
        self.current, self.skips = None, 1
        return True


def detect_root_dialect(root_tag: str, root_name: str) -> str:
    name = (root_name or "").strip().lower()
    if root_tag == "testsuites" and name.startswith("pytest"):
        return PYTEST
    if root_tag == "testsuites" and name == "jest tests":
        return JEST
    return DEFAULT


def suite_dialect(name: str, current: str) -> str:
    """pytest names its suite "pytest" (also under a bare root)."""
    if current == DEFAULT and (name or "").strip().lower() == "pytest":
        return PYTEST
    return current


def count_totals(cases) -> dict[str, int]:
    """The run's totals: executions by final status (what the runner's summary counts), flaky tests."""
    out = {"tests": 0, "passed": 0, "failed": 0, "error": 0, "skipped": 0, "flaky": 0, "test_cases": 0}
    for case in cases:
        passed, failed, error, skipped = case.executions()
        out["passed"] += passed
        out["failed"] += failed
        out["error"] += error
        out["skipped"] += skipped
        out["tests"] += passed + failed + error + skipped
        out["flaky"] += case.flaky
        out["test_cases"] += 1
    return out
