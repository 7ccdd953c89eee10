"""Streaming JUnit XML reader: turns a report into one outcome per test, never loading the document whole.

What it accepts (the dialects real tools write): a `<testsuites>` or a bare `<testsuite>` root, suites nested
at any depth, pytest, Maven Surefire, jest-junit, mocha, go-junit-report/gotestsum, PHPUnit, bazel, Jenkins
variants, elements in an XML namespace, `<failure>`, `<error>`, `<skipped>`, retries, properties, missing
attributes, negative or unparseable durations and arbitrarily large `system-out`.

Rules (the README's "JUnit ingestion" section repeats them for users):

* Identity of a test: ``<scope>::<name>`` where scope is the testcase's ``classname`` (or, without one, the
  name of the innermost suite), ``/`` and ``\\`` in the scope become ``.``, surrounding dots go, runs of whitespace
  in the scope collapse to one space; the name keeps its inner whitespace (mocha titles "a  b" and "a b" are
  different tests) and loses only surrounding whitespace. A testcase without a name is named ``<unnamed N>`` with N
  its position in its suite. Identities longer than 1000 characters keep a prefix and a hash of the rest.
* Outcome of one ``<testcase>`` element: ``error`` if it has an ``<error>`` child, else ``failed`` with a
  ``<failure>``, else ``skipped`` with a ``<skipped>`` (or a ``status`` attribute of disabled/skipped/notrun),
  else ``passed``.
* Retries: ``<flakyFailure>``/``<flakyError>`` are earlier failed attempts before the element's own (final)
  outcome; ``<rerunFailure>``/``<rerunError>`` are later attempts after the first failure, and the last of them
  is the final outcome. The same identity repeated in one report is further attempts, in document order.
  One result per test: status of the final attempt, ``attempts`` = number of attempts, ``flaky`` when the
  attempts disagree, i.e. at least one passed and at least one failed or errored.
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
from dataclasses import dataclass, field
from typing import IO

from lxml import etree

from qualitygov.uploads import UploadRefused, check_prolog, local_name, safe_iterparse, syntax_refusal

MESSAGE_CHARS = 2000
DETAILS_CHARS = 4096
IDENTITY_CHARS = 1000
FIELD_CHARS = 500
READ_CHUNK = 256 * 1024

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
SKIP_STATUS_ATTRS = frozenset({"disabled", "skipped", "skip", "notrun", "not_run", "ignored"})
REQUIREMENT_PROPERTIES = frozenset({"requirement", "requirements"})
_KEY_IN_NAME = re.compile(r"(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9]*)[-_](\d+)(?![0-9])")
_SPACES = re.compile(r"\s+")
_VALUE_SPLIT = re.compile(r"[\s,;]+")


class JUnitRefused(UploadRefused):
    """The upload is not an acceptable JUnit report. Carries the line and column when known (HTTP 400)."""


@dataclass(slots=True)
class ParsedCase:
    identity: str
    suite: str
    classname: str
    name: str
    status: str
    duration: float | None
    message: str
    details: str
    attempts: int
    outcomes: set[str]
    requirement_keys: set[str] = field(default_factory=set)

    @property
    def flaky(self) -> bool:
        return PASSED in self.outcomes and bool(self.outcomes & {FAILED, ERROR})

    @property
    def title(self) -> str:
        return (f"{self.classname}.{self.name}" if self.classname else self.name)[:FIELD_CHARS]


@dataclass(slots=True)
class ParsedReport:
    cases: dict[str, ParsedCase]
    suites: int
    testcase_elements: int

    def counts(self) -> dict[str, int]:
        """Counts of distinct tests by final status, and how many are flaky."""
        out = {"tests": len(self.cases), "passed": 0, "failed": 0, "error": 0, "skipped": 0, "flaky": 0}
        for case in self.cases.values():
            out[case.status] += 1
            out["flaky"] += case.flaky
        return out


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


def normalise_identity(*, scope: str, name: str) -> str:
    """The stable identity of a test: normalised ``scope::name`` (see the module docstring)."""
    scope = normalise_scope(scope)
    identity = f"{scope}::{(name or '').strip()}"
    if len(identity) > IDENTITY_CHARS:
        tail = hashlib.sha256(identity.encode()).hexdigest()[:16]
        identity = f"{identity[: IDENTITY_CHARS - 17]}~{tail}"
    return identity


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
    __slots__ = ("name", "keys", "identities", "unnamed")

    def __init__(self, name: str, keys: set[str]):
        self.name = name
        self.keys = keys
        self.identities: list[str] = []
        self.unnamed = 0


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
    excerpt = "\n".join(p.strip("\n") for p in (*details, *outputs) if p and p.strip())
    return attempts[-1], attempts, message[:MESSAGE_CHARS], excerpt[:DETAILS_CHARS], keys


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
    """Parse a JUnit report from a binary file, in one streaming pass with bounded memory per test.

    Raises JUnitRefused (400) for a DOCTYPE/entity declaration, malformed XML or a non-JUnit document.
    """
    check_prolog(file, refused=JUnitRefused)
    cases: dict[str, ParsedCase] = {}
    stack: list[_Suite] = []
    scopes: dict[str, str] = {}
    suites = 0
    elements = 0
    in_case = False
    root_checked = False
    events = iter_events(file)
    try:
        for event, elem in events:
            if not root_checked:
                root_checked = True
                _check_root(elem.getroottree().getroot())
            tag = local_name(elem.tag)
            if event == "start":
                if tag == "testcase":
                    in_case = True
                elif tag == "testsuite" and not in_case:
                    suites += 1
                    parent_keys = stack[-1].keys if stack else set()
                    stack.append(_Suite(_clean(elem.get("name")), set(parent_keys)))
                continue
            if tag == "testcase":
                in_case = False
                elements += 1
                _add_case(cases, stack, scopes, elem)
                _release(elem)
            elif in_case:
                continue  # <properties> of a testcase: read when the testcase ends
            elif tag == "properties":
                if stack:
                    stack[-1].keys |= _property_keys(elem)
                _release(elem)
            elif tag == "testsuite":
                suite = stack.pop()
                if suite.keys:
                    for identity in suite.identities:
                        cases[identity].requirement_keys |= suite.keys
                if stack:
                    stack[-1].identities.extend(suite.identities)
                _release(elem)
    except etree.XMLSyntaxError as exc:
        raise syntax_refusal(exc, getattr(events, "error_log", None), refused=JUnitRefused) from None
    if not root_checked:
        root = getattr(events, "root", None)
        if root is None:
            raise JUnitRefused("The document is empty", line=1, column=1, code="malformed")
        _check_root(root)
    return ParsedReport(cases=cases, suites=suites, testcase_elements=elements)


def _release(elem) -> None:
    """Free a finished element and the siblings before it, so memory stays flat over 100k testcases."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _add_case(cases: dict[str, ParsedCase], stack: list[_Suite], scopes: dict[str, str], elem) -> None:
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
    scope_key = raw_class or "\x00" + suite_name
    scope = scopes.get(scope_key)
    if scope is None:
        scope = scopes[scope_key] = normalise_scope(raw_class or suite_name)
    identity = f"{scope}::{name}"
    if len(identity) > IDENTITY_CHARS:
        identity = normalise_identity(scope=scope, name=name)
    if len(elem):
        status, attempts, message, details, keys = _outcome_of(elem)
    else:
        status_attr = elem.get("status")
        status = SKIPPED if status_attr and status_attr.strip().lower() in SKIP_STATUS_ATTRS else PASSED
        attempts, message, details, keys = (status,), "", "", set()
    duration = _duration(elem.get("time"))
    existing = cases.get(identity)
    if existing is None:
        cases[identity] = ParsedCase(
            identity,
            suite_name[:FIELD_CHARS],
            (raw_class.strip() if raw_class else "")[:FIELD_CHARS],
            name[:FIELD_CHARS],
            status,
            duration,
            message,
            details,
            len(attempts),
            set(attempts),
            keys,
        )
        if suite is not None:
            suite.identities.append(identity)
        return
    # The same test again in one report: a further attempt; the last one decides.
    existing.attempts += len(attempts)
    existing.outcomes.update(attempts)
    existing.status = status
    existing.duration = duration
    if message or status != PASSED:
        existing.message = message
        existing.details = details
    existing.requirement_keys |= keys


def open_upload_file(data: bytes) -> IO[bytes]:
    """A file over raw bytes, decompressing gzip transparently (for tests and the command line)."""
    if data[:2] == b"\x1f\x8b":
        return io.BytesIO(gzip.decompress(data))
    return io.BytesIO(data)
