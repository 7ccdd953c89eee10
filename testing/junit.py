"""Streaming JUnit XML reader: turns a report into one outcome per test, never loading the document whole.

What it accepts (the dialects real tools write): a `<testsuites>` or a bare `<testsuite>` root, suites nested
at any depth, pytest, Maven Surefire, jest-junit, mocha, go-junit-report/gotestsum, PHPUnit, bazel, Jenkins
variants, elements in an XML namespace, `<failure>`, `<error>`, `<skipped>`, retries, properties, missing
attributes, negative or unparseable durations and arbitrarily large `system-out`.

Rules (docs/guides/ci-integrator.md, "Uploading JUnit XML", repeats them for users):

* Identity of a test: ``<where>::<classname>::<name>`` where ``where`` is the ``file`` attribute of the testcase
  or of its nearest enclosing suite that has one (``\\`` becomes ``/``, a leading ``./`` goes), else the name of
  the innermost suite; in the suite name and the classname ``/`` and ``\\`` become ``.``, surrounding dots go and
  runs of whitespace collapse to one space; the name keeps its inner whitespace (mocha titles "a  b" and "a b"
  are different tests) and loses only surrounding whitespace. A testcase without a name is named
  ``<unnamed N>`` with N its position in its suite. Identities longer than 1000 characters keep a prefix and a
  hash of the rest.
* Outcome of one ``<testcase>`` element: ``error`` if it has an ``<error>`` child, else ``failed`` with a
  ``<failure>``, else ``skipped`` with a ``<skipped>`` (or a ``status`` attribute of disabled/skipped/notrun),
  else ``passed``. ``<flakyFailure>``/``<flakyError>`` are earlier failed attempts before the element's own
  outcome; ``<rerunFailure>``/``<rerunError>`` are later attempts after the first failure, none passed: the
  element is ``error`` when any of its attempts errored, else ``failed`` (as Surefire's summary counts it).
* Repeated elements of one identity (reruns vs separate executions, per runner dialect) and the run's totals:
  see ``testing/junit_rules.py``.
* Duration: the final attempt's ``time`` in seconds; negative, non-finite or unparseable values become
  unknown (null). Thousands separators ("1,234.5") are accepted.
* Requirement links: ``<property name="requirement" value="REQ-12"/>`` (also ``requirements``, values may be
  comma/space separated) on the testcase or any enclosing suite, plus every ``KEY-123`` / ``KEY_123`` token in
  the test's name or classname. The ingestion keeps the keys that exist in the project (case-insensitive).
* Untrusted text is kept as text: a message of at most 2,000 characters and a details excerpt of at most
  4,096 characters (failure body, then system-out, then system-err).

Security: a DOCTYPE or entity declaration anywhere before the root element is refused before parsing starts;
the parser itself never loads a DTD, never resolves entities and never touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import re
from dataclasses import dataclass
from typing import IO

from lxml import etree

from qualitygov.uploads import UploadRefused, check_prolog, local_name, safe_iterparse, syntax_refusal

from .junit_rules import (
    DEFAULT,
    ERROR,
    FAILED,
    GO,
    JEST,
    PASSED,
    SKIPPED,
    Element,
    ParsedCase,
    count_totals,
    detect_root_dialect,
    suite_dialect,
)

MESSAGE_CHARS = 2000
DETAILS_CHARS = 4096
IDENTITY_CHARS = 1000
FIELD_CHARS = 500
READ_CHUNK = 256 * 1024
SCOPE_CACHE = 20_000

SKIP_STATUS_ATTRS = frozenset({"disabled", "skipped", "skip", "notrun", "not_run", "ignored"})
REQUIREMENT_PROPERTIES = frozenset({"requirement", "requirements"})
_NO_KEYS: frozenset[str] = frozenset()  # the requirement keys of a testcase without children (read only)
_KEY_IN_NAME = re.compile(r"(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9]*)[-_](\d+)(?![0-9])")
_SPACES = re.compile(r"\s+")
_VALUE_SPLIT = re.compile(r"[\s,;]+")


class JUnitRefused(UploadRefused):
    """The upload is not an acceptable JUnit report. Carries the line and column when known (HTTP 400)."""


@dataclass(slots=True)
class ParsedReport:
    cases: dict[str, ParsedCase]
    suites: int
    testcase_elements: int
    dialect: str = DEFAULT

    def counts(self) -> dict[str, int]:
        """The run's totals: executions by final status (the runner's own summary), flaky tests, test cases."""
        return count_totals(self.cases.values())


# --- Parsing --------------------------------------------------------------------------------------------


def _clean(value: str | None) -> str:
    return _SPACES.sub(" ", value).strip() if value else ""


def _duration(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = float(value.strip().replace(",", ""))
        except ValueError:
            return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def normalise_scope(scope: str) -> str:
    return _clean(scope).replace("/", ".").replace("\\", ".").strip(".")


def normalise_file(path: str) -> str:
    path = _clean(path).replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def make_identity(*, where: str, classname: str, name: str) -> str:
    """The stable identity of a test: ``where::classname::name``, all parts already normalised."""
    identity = f"{where}::{classname}::{(name or '').strip()}"
    if len(identity) > IDENTITY_CHARS:
        tail = hashlib.sha256(identity.encode()).hexdigest()[:16]
        identity = f"{identity[: IDENTITY_CHARS - 17]}~{tail}"
    return identity


def normalise_identity(
    *, where: str = "", file: str = "", suite: str = "", classname: str = "", name: str
) -> str:
    """The identity of a test from raw attribute values (see the module docstring)."""
    place = normalise_file(file) if file and file.strip() else normalise_scope(where or suite)
    return make_identity(where=place, classname=normalise_scope(classname), name=name)


def requirement_keys_in_name(text: str) -> set[str]:
    """Candidate requirement keys written in a test name, upper-cased: ``REQ-12``, ``req_12`` -> ``REQ-12``."""
    return {f"{prefix.upper()}-{number}" for prefix, number in _KEY_IN_NAME.findall(text or "")}


def _property_keys(props_elem) -> set[str]:
    keys: set[str] = set()
    for prop in props_elem:
        if (
            local_name(prop.tag) == "property"
            and (prop.get("name") or "").strip().lower() in REQUIREMENT_PROPERTIES
        ):
            value = prop.get("value")
            if value is None:
                value = prop.text or ""
            keys.update(k.upper() for k in _VALUE_SPLIT.split(value) if k)
    return keys


def _text_of(elem) -> str:
    parts = []
    if elem.text:
        parts.append(elem.text)
    for child in elem:  # Surefire puts traces in <stackTrace>, <system-out> inside retries
        if child.text:
            parts.append(child.text)
        if len("".join(parts)) > DETAILS_CHARS:
            break
    return "".join(parts)


class _Suite:
    __slots__ = (
        "id",
        "parent",
        "name",
        "file",
        "keys",
        "identities",
        "unnamed",
        "declared",
        "elements",
        "todo",
    )

    def __init__(
        self, id: int, parent: int | None, name: str, file: str, keys: set[str], declared: int | None
    ):
        self.id = id  # position of the suite in the report (1-based), and its parent's
        self.parent = parent
        self.name = name
        self.file = file
        self.keys = keys
        self.identities: list[str] = []  # the tests first seen in this suite (in-memory fold only)
        self.unnamed = 0
        self.declared = declared  # the suite's own `tests` attribute (jest-junit leaves todos out of it)
        self.elements = 0
        self.todo: list = []  # jest: empty zero-time testcases, the candidates for test.todo (sink tokens)

    def todos(self) -> list:
        """jest-junit leaves test.todo out of the suite's `tests` count: exactly that many empty zero-time
        cases are the todos. With more candidates than that, which ones are todos cannot be told: none."""
        if self.declared is None or not self.todo:
            return []
        missing = self.elements - self.declared
        return self.todo if missing > 0 and missing == len(self.todo) else []


@dataclass(slots=True)
class ElementRead:
    """One ``<testcase>`` element with where it sits: what a sink receives."""

    identity: str
    where: str
    suite: str
    classname: str  # as written (stripped)
    name: str
    element: Element
    dialect: str


class MemorySink:
    """Folds the elements into one ParsedCase per identity, in memory (small reports, SQLite)."""

    def __init__(self):
        self.cases: dict[str, ParsedCase] = {}

    def add(self, read: ElementRead, suite: _Suite | None) -> str:
        case = self.cases.get(read.identity)
        if case is None:
            case = self.cases[read.identity] = ParsedCase(
                read.identity,
                read.where[:FIELD_CHARS],
                read.suite[:FIELD_CHARS],
                read.classname[:FIELD_CHARS],
                read.name[:FIELD_CHARS],
            )
            if suite is not None:
                suite.identities.append(read.identity)
        case.add(read.element, read.dialect)
        return read.identity

    def suite_end(self, suite: _Suite, parent: _Suite | None, dialect: str) -> None:
        if dialect == JEST:
            for identity in suite.todos():
                self.cases[identity].mark_todo()
        if suite.keys:
            for identity in suite.identities:
                self.cases[identity].add_keys(suite.keys)
        if parent is not None:
            parent.identities.extend(suite.identities)


def _int_attr(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


def _outcome_of(case_elem) -> tuple[str, list[str], str, str, set[str]]:
    """(final status, statuses of all attempts in order, message, details excerpt, requirement keys)."""
    main = None
    main_elem = None
    before: list[str] = []
    after: list[str] = []
    message = ""
    details: list[str] = []
    keys: set[str] = set()
    outputs: list[str] = []
    for child in case_elem:
        tag = local_name(child.tag)
        if tag == "error":
            main, main_elem = ERROR, child
        elif tag == "failure":
            if main != ERROR:
                main, main_elem = FAILED, child
        elif tag == "skipped":
            if main is None:
                main, main_elem = SKIPPED, child
        elif tag in ("flakyFailure", "flakyError"):
            before.append(FAILED if tag == "flakyFailure" else ERROR)
            if not message:
                message = child.get("message") or ""
                details.append(_text_of(child))
        elif tag in ("rerunFailure", "rerunError"):
            after.append(FAILED if tag == "rerunFailure" else ERROR)
            message = child.get("message") or message
        elif tag in ("system-out", "system-err"):
            if child.text:
                outputs.append(child.text[:DETAILS_CHARS])
        elif tag == "properties":
            keys |= _property_keys(child)
    if main is None:
        status_attr = (case_elem.get("status") or "").strip().lower()
        main = SKIPPED if status_attr in SKIP_STATUS_ATTRS else PASSED
    if main_elem is not None:
        message = main_elem.get("message") or main_elem.get("type") or message
        details.insert(0, _text_of(main_elem))
    attempts = [*before, main, *after]
    final = attempts[-1]
    if after:  # every attempt failed: Surefire counts the test as an error when any attempt errored
        final = ERROR if ERROR in attempts else FAILED
    excerpt = "\n".join(p.strip("\n") for p in (*details, *outputs) if p and p.strip())
    return final, attempts, message[:MESSAGE_CHARS], excerpt[:DETAILS_CHARS], keys


_TAGS = ("{*}testsuites", "{*}testsuite", "{*}testcase", "{*}properties")


def iter_events(file: IO[bytes]):
    """Locked-down iterparse (qualitygov.uploads) with events for the tags we read only."""
    return safe_iterparse(file, tag=_TAGS)


def _check_root(root) -> None:
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise JUnitRefused("DOCTYPE declarations are not accepted", line=1, column=1, code="doctype")
    tag = local_name(root.tag)
    if tag not in ("testsuites", "testsuite"):
        raise JUnitRefused(
            f"Not a JUnit report: the root element is <{tag}>, expected <testsuites> or <testsuite>",
            line=root.sourceline,
            column=1,
            code="not_junit",
        )


def parse_report(file: IO[bytes]) -> ParsedReport:
    """Parse a JUnit report from a binary file into one ParsedCase per test, held in memory.

    Raises JUnitRefused (400) for a DOCTYPE/entity declaration, malformed XML or a non-JUnit document.
    """
    sink = MemorySink()
    suites, elements, dialect = read_report(file, sink)
    for case in sink.cases.values():
        case.finish()
    return ParsedReport(cases=sink.cases, suites=suites, testcase_elements=elements, dialect=dialect)


def read_report(file: IO[bytes], sink) -> tuple[int, int, str]:
    """Read a JUnit report in one streaming pass, handing every testcase element to ``sink`` as it ends.

    The sink has ``add(read, suite) -> token`` (the token names the element among jest's todo candidates) and
    ``suite_end(suite, parent, dialect)``. Returns (suites, testcase elements, dialect). Raises JUnitRefused.
    """
    check_prolog(file, refused=JUnitRefused)
    stack: list[_Suite] = []
    scopes: dict[str, str] = {}
    suites = 0
    elements = 0
    in_case = False
    root_checked = False
    dialect = DEFAULT
    events = iter_events(file)
    names: dict = {}  # element tag -> local name (a handful of tags pass iter_events' filter)
    try:
        for event, elem in events:
            if not root_checked:
                root_checked = True
                root = elem.getroottree().getroot()
                _check_root(root)
                dialect = detect_root_dialect(local_name(root.tag), root.get("name") or "")
            tag = names.get(elem.tag)
            if tag is None:
                tag = names[elem.tag] = local_name(elem.tag)
            if event == "start":
                if tag == "testcase":
                    in_case = True
                elif tag == "testsuite" and not in_case:
                    suites += 1
                    parent = stack[-1] if stack else None
                    name = _clean(elem.get("name"))
                    dialect = suite_dialect(name, dialect)
                    stack.append(
                        _Suite(
                            suites,
                            parent.id if parent else None,
                            name,
                            elem.get("file") or (parent.file if parent else ""),
                            set(parent.keys) if parent else set(),
                            _int_attr(elem.get("tests")),
                        )
                    )
                continue
            if tag == "testcase":
                in_case = False
                elements += 1
                _add_case(sink, stack, scopes, elem, dialect)
                _release(elem)
            elif in_case:
                continue  # <properties> of a testcase: read when the testcase ends
            elif tag == "properties":
                if stack:
                    stack[-1].keys |= _property_keys(elem)
                if dialect == DEFAULT and _has_property(elem, "go.version"):
                    dialect = GO  # gotestsum and go-junit-report: repeated elements are reruns
                _release(elem)
            elif tag == "testsuite":
                suite = stack.pop()
                sink.suite_end(suite, stack[-1] if stack else None, dialect)
                _release(elem)
    except etree.XMLSyntaxError as exc:
        raise syntax_refusal(exc, getattr(events, "error_log", None), refused=JUnitRefused) from None
    if not root_checked:
        root = getattr(events, "root", None)
        if root is None:
            raise JUnitRefused("The document is empty", line=1, column=1, code="malformed")
        _check_root(root)
    return suites, elements, dialect


def _has_property(props_elem, name: str) -> bool:
    return any(local_name(p.tag) == "property" and p.get("name") == name for p in props_elem)


def _release(elem) -> None:
    """Free a finished element and the siblings before it, so memory stays flat over 100k testcases."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _add_case(sink, stack: list[_Suite], scopes: dict[str, str], elem, dialect: str) -> None:
    suite = stack[-1] if stack else None
    raw_class = elem.get("classname") or elem.get("class") or ""
    name = (elem.get("name") or "").strip()
    if not name:
        if suite is not None:
            suite.unnamed += 1
            name = f"<unnamed {suite.unnamed}>"
        else:
            name = "<unnamed>"
    suite_name = suite.name if suite else ""
    raw_file = elem.get("file") or (suite.file if suite else "")
    where_key = "\x01" + raw_file if raw_file and raw_file.strip() else "\x00" + suite_name
    if len(scopes) > SCOPE_CACHE:
        scopes.clear()  # a report with a new class or file per test: the cache must not grow with it
    where = scopes.get(where_key)
    if where is None:
        where = scopes[where_key] = (
            normalise_file(raw_file) if where_key[0] == "\x01" else normalise_scope(suite_name)
        )
    class_key = "\x02" + raw_class
    classname = scopes.get(class_key)
    if classname is None:
        classname = scopes[class_key] = normalise_scope(raw_class)
    identity = make_identity(where=where, classname=classname, name=name)
    if len(elem):
        status, attempts, message, details, keys = _outcome_of(elem)
        empty = len(attempts) == 1 and status == PASSED
    else:
        status_attr = elem.get("status")
        status = SKIPPED if status_attr and status_attr.strip().lower() in SKIP_STATUS_ATTRS else PASSED
        attempts, message, details, keys, empty = (status,), "", "", _NO_KEYS, status == PASSED
    time_attr = elem.get("time")
    element = Element(status, tuple(attempts), empty, _duration(time_attr), message, details, keys)
    read = ElementRead(
        identity, where, suite_name, raw_class.strip() if raw_class else "", name, element, dialect
    )
    token = sink.add(read, suite)
    if suite is not None:
        suite.elements += 1
        if dialect == JEST and empty and (time_attr or "").strip() in ("0", "0.0", "0.000"):
            suite.todo.append(token)


def open_upload_file(data: bytes) -> IO[bytes]:
    """A file over raw bytes, decompressing gzip transparently (for tests and the command line)."""
    if data[:2] == b"\x1f\x8b":
        return io.BytesIO(gzip.decompress(data))
    return io.BytesIO(data)
