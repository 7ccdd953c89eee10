"""JUnit ingestion on PostgreSQL in flat memory: elements staged by COPY, tests settled in SQL.

Every ``<testcase>`` element is written to a temporary staging table as it is read (COPY batches), so the
process holds no record per test, whatever the report's size. The rules of testing/junit_rules.py are then
applied per identity in SQL (testing/ingest_staged_sql.py), the test cases are found, adopted or created, the
results inserted and the requirements linked with set statements, all in the caller's transaction. The
temporary tables go with the transaction (ON COMMIT DROP).

Nearly every test of a real report is one element. The writer keeps the hashes of the identities it has
written (a set up to SEEN_EXACT of them, then a fixed-size bit filter of 8 MiB whatever the report's size) and
flags an element whose identity may have been written before; only the elements of flagged identities (and the
rare false positives of a hash or of the filter) go through the window + GROUP BY over the identity, the other
tests are a projection of their one staged row.

How the SQL reads the rules, per identity (elements in report order, ``bad`` = failed or error):

* the rerun dialects (pytest, Go) hold one execution: the last element's status decides; it is flaky when it
  passed and an earlier attempt was bad (an attempt inside an element, a bad earlier element, or under pytest
  an empty earlier element: pytest-rerunfailures writes the attempt it reran that way);
* elsewhere every non-skipped element is an execution; skipped elements count only when nothing else ran,
  otherwise they are retried attempts (TestNG) and make a passed test flaky; a passing execution with a failed
  attempt inside it (Surefire's flakyFailure) is flaky; a jest todo is a skipped element;
* status: error, else failed, else passed, else skipped, over the executions; attempts add up;
* duration: of the last execution (of the last element when nothing ran, or under the rerun dialects);
* message: the last bad element's message, else the first message; details: the last element's details among
  the bad ones and those read before any message.

Results are written RESULT_CHUNK tests per statement with the written tables' foreign keys checked as each
statement ends (SET CONSTRAINTS ... IMMEDIATE, then back to deferred): the database keeps one pending check
per row and foreign key until it runs them, which for one statement of 1,000,000 rows held 35 MB more in the
backend. The import stays one transaction.

Results are identical to the in-memory fold (testing/junit_rules.py); tests/testing/test_junit_staged.py runs
the corpus and the dialect cases through both.
"""

from __future__ import annotations

import math
import queue
import re
import threading
from dataclasses import dataclass
from typing import IO

from django.db import connection
from django.utils import timezone

from . import ingest_staged_sql as sql
from .junit import ElementRead, make_identity, normalise_scope, read_report
from .junit_rules import BAD, GO, JEST, PYTEST
from .models import TestCase, TestCaseKind, TestCaseLinkChange

COPY_ROWS = 2_000  # elements per batch handed to the staging COPY (~0.5 MB of text)
PIPE_BATCHES = 4  # batches parsed ahead of the COPY at most
RESULT_CHUNK = 250_000  # results per INSERT: ~9 MB of pending foreign-key checks (3 per row) at most
SEEN_EXACT = 200_000  # identity hashes held in a set (~15 MB at most), then in the bit filter:
SEEN_BITS = 1 << 26  # 8 MiB, ~20 false positives at 1,000,000 tests
# work_mem while results are written (at least): their join hashes the project's test cases, ~14 MB per 100,000
# (hash tables may take twice work_mem), and a bigger one goes to disk in batches; the former value comes back
RESULT_WORK_MEM = "12MB"
FIELD_CHARS = 500
_RERUN_CODE = {PYTEST: 1, GO: 2}
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\x00": None})
_NULL = "\\N"  # NULL in COPY's text format


@dataclass(frozen=True, slots=True)
class StagedTotals:
    test_cases: int
    passed: int
    failed: int
    error: int
    skipped: int
    flaky: int
    elements: int = 0  # testcase elements staged
    legacies: int = 0  # of them placed by file (a migrated row may be adopted)
    linked: int = 0  # of them naming a known requirement, or in a suite that does

    def as_counts(self) -> dict[str, int]:
        return {
            "tests": self.passed + self.failed + self.error + self.skipped,
            "passed": self.passed,
            "failed": self.failed,
            "error": self.error,
            "skipped": self.skipped,
            "flaky": self.flaky,
            "test_cases": self.test_cases,
        }


class RequirementMatcher:
    """The project's requirement keys (upper-cased) -> ids, and the test-name prefixes worth a regex."""

    def __init__(self, known: dict[str, int]):
        from .junit import requirement_keys_in_name

        self.known = known
        self.prefixes = {key.split("-", 1)[0].lower() for key in known if "-" in key}
        # one scan of the lowered name for any of the prefixes (what `any(p in lowered ...)` tells)
        self._any_prefix = re.compile("|".join(map(re.escape, sorted(self.prefixes)))).search
        self._in_name = requirement_keys_in_name

    def ids(self, keys) -> list[int]:
        return sorted({self.known[k] for k in keys if k in self.known}) if keys and self.known else []

    def name_ids(self, classname: str, name: str) -> list[int]:
        if not self.prefixes:
            return []
        text = f"{classname} {name}"
        if self._any_prefix(text.lower()) is None:
            return []
        return self.ids(self._in_name(text))


def _ints(values: list[int]) -> str:
    """An integer array in COPY's text format; NULL when empty (no array to parse)."""
    return "{" + ",".join(map(str, values)) + "}" if values else _NULL


class _PipeClosed(Exception):
    """The staging COPY failed: the parser stops."""


class RowPipe:
    """Row batches from the thread that parses the report to the one COPY statement that stages them.

    The report is parsed in a thread of its own while the caller's thread feeds the rows to PostgreSQL: the
    database stores a batch while the next one is parsed, and the report is staged by one statement, not one
    per batch. At most PIPE_BATCHES batches wait (flat memory). The parser ends the stream with '' whatever
    happens; its exception, if any, is raised in the caller's thread once the COPY has ended.
    """

    def __init__(self):
        self.batches: queue.Queue[str] = queue.Queue(maxsize=PIPE_BATCHES)
        self.closed = False  # the COPY failed: the parser stops at its next batch
        self.ended = False  # the COPY has read the end of the stream
        self.error: BaseException | None = None

    def put(self, batch: str) -> None:
        if self.closed:
            raise _PipeClosed
        self.batches.put(batch)

    def read(self, size: int = -1) -> str:  # psycopg2's copy_expert reads the rows from here
        batch = self.batches.get()
        self.ended = batch == ""
        return batch

    def parse(self, file: IO[bytes], sink: StagingSink) -> None:
        """The parsing thread's work."""
        try:
            read_report(file, sink)
            sink.flush()
        except BaseException as exc:  # raised in the caller's thread (stage_report)
            self.error = exc
        finally:
            self.batches.put("")

    def stage(self, cursor, file: IO[bytes], sink: StagingSink) -> None:
        """Parse the report into junit_stage; raises what the parser raised (JUnitRefused)."""
        parser = threading.Thread(target=self.parse, args=(file, sink), name="junit-stage", daemon=True)
        parser.start()
        try:
            with connection.wrap_database_errors:  # Django's exceptions, as for every other statement
                cursor.copy_expert(sql.COPY_STAGE, self)
        except BaseException:
            self.closed = True
            while not self.ended:  # let the parser reach its end of stream
                self.read()
            raise
        finally:
            parser.join()
        if self.error is not None:
            raise self.error


class StagingSink:
    """Writes every element to junit_stage as it is read; keeps only per-suite facts (a few per suite) and the
    fixed-size bit filter of the identities written (see the module docstring).

    Rows go out in COPY's text format with the unit separator (U+001F) as delimiter: XML 1.0 cannot carry that
    character, so only backslashes and line breaks need escaping, once per row in its text part. Texts are
    never NULL (no legacy identity is ''), no duration is -1, no suite 0; no requirement is a NULL array.
    """

    def __init__(self, pipe: RowPipe, matcher: RequirementMatcher):
        self.pipe = pipe
        self.matcher = matcher
        self.seq = 0
        self.parts: list[str] = []
        self.rows = 0
        self.repeats = 0  # elements flagged as a possible repeat of an identity
        self.legacies = 0  # elements placed by file (a migrated row may be adopted)
        self.linked = 0  # elements naming a known requirement (properties or name)
        self.suite_parent: dict[int, int | None] = {}
        self.suite_reqs: dict[int, set[int]] = {}
        self.todos: list[tuple[int, int]] = []  # (element seq, last seq of its suite)
        self._exact: set[int] | None = set()
        self._seen = bytearray()
        self._mask = 0
        # facts of the suite the last element sat in: the suite, the dialect, its name, normalised name, and
        # the row's tail (suite id, rerun code)
        self._at = (None, None, "", "", "\x1f0\x1f0")

    def _enter(self, read: ElementRead, suite) -> tuple:
        suite_name = read.suite[:FIELD_CHARS]
        tail = f"\x1f{suite.id if suite is not None else 0}\x1f{_RERUN_CODE.get(read.dialect, 0)}"
        self._at = (suite, read.dialect, suite_name, normalise_scope(read.suite), tail)
        return self._at

    def _seen_bits(self, h: int) -> bool:
        """The bit filter, three bits per identity hash: all set means it may have been written before."""
        mask, seen = self._mask, self._seen
        i, j, k = h & mask, (h >> 19) & mask, (h >> 38) & mask
        bit_i, bit_j, bit_k = 1 << (i & 7), 1 << (j & 7), 1 << (k & 7)
        if seen[i >> 3] & bit_i and seen[j >> 3] & bit_j and seen[k >> 3] & bit_k:
            return True
        seen[i >> 3] |= bit_i
        seen[j >> 3] |= bit_j
        seen[k >> 3] |= bit_k
        return False

    def _to_bits(self) -> None:
        """Past SEEN_EXACT identities the hashes go into the fixed-size bit filter (flat memory)."""
        self._seen = bytearray(max(SEEN_BITS >> 3, 1))
        self._mask = max(SEEN_BITS, 8) - 1
        for h in self._exact:
            self._seen_bits(h)
        self._exact = None

    def add(self, read: ElementRead, suite) -> int:
        self.seq = seq = self.seq + 1
        at = self._at
        if suite is not at[0] or read.dialect is not at[1]:
            at = self._enter(read, suite)
        e = read.element
        identity, where = read.identity, read.where[:FIELD_CHARS]
        classname, name = read.classname[:FIELD_CHARS], read.name[:FIELD_CHARS]
        legacy = ""
        if where != at[3]:  # placed by file: the identity a migrated row would have (testing/ingest_cases.py)
            legacy = make_identity(where=at[3], classname=normalise_scope(classname), name=name)
            self.legacies += 1
        text = "\x1f".join((identity, where, at[2], classname, name, legacy, e.message, e.details))
        if text.count("\x1f") != 7:  # a separator inside a value (not XML 1.0): drop it
            text = "\x1f".join(
                v.replace("\x1f", "")
                for v in (identity, where, at[2], classname, name, legacy, e.message, e.details)
            )
        if "\\" in text or "\n" in text or "\r" in text or "\x00" in text:
            text = text.translate(_COPY_ESCAPES)
        h = hash(identity)
        if self._exact is not None:  # the hashes of the identities written, while there are few
            if h in self._exact:
                repeat = True
            else:
                self._exact.add(h)
                repeat = False
                if len(self._exact) > SEEN_EXACT:
                    self._to_bits()
        else:
            repeat = self._seen_bits(h)
        if repeat:
            self.repeats += 1
        reqs = _ints(self.matcher.ids(e.keys)) if e.keys else _NULL
        name_reqs = _ints(self.matcher.name_ids(classname, name))
        if reqs is not _NULL or name_reqs is not _NULL:
            self.linked += 1
        attempts = e.attempts
        duration = e.duration
        self.parts.append(
            f"{seq}\x1f{text}\x1f{e.status}"
            f"\x1f{'t' if len(attempts) > 1 and BAD.intersection(attempts[:-1]) else 'f'}"
            f"\x1f{'t' if e.empty else 'f'}\x1f{len(attempts)}"
            f"\x1f{-1 if duration is None or not math.isfinite(duration) else repr(duration)}"
            f"\x1f{reqs}\x1f{name_reqs}{at[4]}\x1f{'t' if repeat else 'f'}\n"
        )
        self.rows += 1
        if self.rows >= COPY_ROWS:
            self.flush()
        return seq

    def suite_end(self, suite, parent, dialect: str) -> None:
        self.suite_parent[suite.id] = parent.id if parent is not None else None
        if suite.keys:
            ids = self.matcher.ids(suite.keys)
            if ids:
                self.suite_reqs[suite.id] = set(ids)
        if dialect == JEST:
            self.todos.extend((seq, self.seq) for seq in suite.todos())

    def flush(self) -> None:
        if self.rows:
            self.pipe.put("".join(self.parts))
            self.parts = []
            self.rows = 0

    def suite_requirements(self) -> list[tuple[int, int]]:
        """(suite, requirement) for every suite and the requirements named by it or any suite around it."""
        pairs: list[tuple[int, int]] = []
        if not self.suite_reqs:
            return pairs
        for suite_id in self.suite_parent:
            reqs: set[int] = set()
            node: int | None = suite_id
            while node is not None:
                reqs |= self.suite_reqs.get(node, set())
                node = self.suite_parent.get(node)
            pairs.extend((suite_id, req) for req in reqs)
        return pairs


def stage_report(file: IO[bytes], *, project_id: int) -> StagedTotals:
    """Read the report into junit_stage and settle the repeated identities into junit_repeat; the run's totals.

    Must run inside a transaction (the temporary tables are dropped at its end). Raises JUnitRefused.
    """
    from .models import Requirement

    known = {
        key.upper(): pk
        for key, pk in Requirement.objects.filter(project_id=project_id).values_list("key", "id")
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.CREATE_TABLES)
        pipe = RowPipe()
        sink = StagingSink(pipe, RequirementMatcher(known))
        pipe.stage(cursor, file, sink)
        if sink.todos:
            cursor.execute(
                sql.MARK_TODOS, [[seq for seq, _ in sink.todos], [until for _, until in sink.todos]]
            )
        pairs = sink.suite_requirements()
        if pairs:
            cursor.execute(
                "INSERT INTO junit_suite_req SELECT * FROM unnest(%s::int[], %s::int[])",
                [[s for s, _ in pairs], [r for _, r in pairs]],
            )
        if sink.repeats:
            cursor.execute(f"{sql.MARK_REPEATS}; {sql.SETTLE_REPEATS}; {sql.TOTALS}")
        else:  # every identity once: nothing to settle, the table only gives CASES its shape
            cursor.execute(f"{sql.SETTLE_REPEATS} WITH NO DATA; {sql.TOTALS}")
        counts = map(int, cursor.fetchone())
    linked = sink.linked + len(pairs)
    return StagedTotals(*counts, elements=sink.seq, legacies=sink.legacies, linked=linked)


def write_staged(*, run, project_id: int, staged: StagedTotals, finished_at) -> None:
    """Find, adopt or create the staged tests' cases, insert the run's results and link requirements."""
    now = timezone.now()
    params = {
        "project": project_id,
        "now": now,
        "kind": TestCaseKind.AUTOMATED,
        "run": run.pk,
        "release": run.release_id,
    }
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(sql.FOREIGN_KEYS)
        work_mem, keys, initially_deferred = cursor.fetchone()
        immediate = f"SET CONSTRAINTS {', '.join(map(quote, keys))} IMMEDIATE; " if keys else ""
        cursor.execute(f"{immediate}{sql.RAISE_WORK_MEM}", {"work_mem": RESULT_WORK_MEM})
        if staged.legacies:
            cursor.execute(sql.ADOPT, params)
        # Results of the tests whose case exists (all of them in the usual CI case), then, when some were new,
        # their cases and their results: no anti-join over every test when none is new.
        written = _write_results(cursor, sql.WRITE_RESULTS, {**params, "now": finished_at}, staged.elements)
        if written < staged.test_cases:
            cursor.execute(sql.CREATE_CASES, params)
            _write_results(cursor, sql.WRITE_NEW_RESULTS, {**params, "now": finished_at}, staged.elements)
        deferred = (
            f"SET CONSTRAINTS {', '.join(map(quote, initially_deferred))} DEFERRED; "
            if initially_deferred
            else ""
        )
        cursor.execute(f"{deferred}SELECT set_config('work_mem', %s, true)", [work_mem])
        if staged.linked:
            through = quote(TestCase.requirements.through._meta.db_table)
            history = quote(TestCaseLinkChange._meta.db_table)
            link = sql.LINK_REQUIREMENTS.format(through=through, history=history)
            cursor.execute(f"{sql.COLLECT_LINKS}; ANALYZE junit_link; {link}", params)


def _write_results(cursor, statement: str, params: dict, elements: int) -> int:
    """Run a results statement RESULT_CHUNK tests at a time (chunked by their first element); rows written."""
    written = 0
    for low in range(0, elements + 1, RESULT_CHUNK):
        cursor.execute(statement, {**params, "low": low, "high": low + RESULT_CHUNK})
        written += cursor.rowcount
    return written
