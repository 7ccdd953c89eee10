"""JUnit ingestion on PostgreSQL in flat memory: elements staged by COPY, tests settled in SQL.

Every ``<testcase>`` element is written to a temporary staging table as it is read (COPY batches), so the
process holds no record per test, whatever the report's size. The rules of testing/junit_rules.py are then
applied per identity in one SQL statement (window + GROUP BY over the identity), the test cases are found,
adopted or created, the results inserted and the requirements linked with set statements, all in the caller's
transaction. The temporary tables go with the transaction (ON COMMIT DROP).

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

Results are identical to the in-memory fold (testing/junit_rules.py); tests/testing/test_junit_staged.py runs
the corpus and the dialect cases through both.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from typing import IO

from django.db import connection
from django.utils import timezone

from .junit import ElementRead, make_identity, normalise_scope, read_report
from .junit_rules import BAD, GO, JEST, PYTEST
from .models import TestCase, TestCaseKind, TestCaseLinkChange

COPY_ROWS = 2_000  # elements per COPY statement: buffers of ~0.5 MB (20,000 grew the peak RSS: 5 MB buffers)
FIELD_CHARS = 500
_RERUN_CODE = {PYTEST: 1, GO: 2}
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\x00": None})
_NEEDS_ESCAPE = re.compile("[\\\\\n\r\x00]")

STAGE_COLUMNS = (
    "seq, identity, where_, suite, classname, name, legacy, status, earlier_bad, empty, attempts, "
    "duration, message, details, reqs, name_reqs, suite_id, rerun"
)
CREATE_STAGE = """
CREATE TEMPORARY TABLE junit_stage (
    seq integer, identity text, where_ text, suite text, classname text, name text, legacy text,
    status varchar(8), earlier_bad boolean, empty boolean, attempts integer, duration double precision,
    message text, details text, reqs integer[], name_reqs integer[], suite_id integer, rerun smallint,
    todo boolean NOT NULL DEFAULT false
) ON COMMIT DROP
"""

# One row per test with the run's rules applied (see the module docstring).
SETTLE = """
CREATE TEMPORARY TABLE junit_case ON COMMIT DROP AS
WITH e AS (
    SELECT s.*,
           CASE WHEN s.todo THEN 'skipped' ELSE s.status END AS st,
           s.status IN ('failed', 'error') AS bad,
           min(s.seq) OVER w AS first_seq,
           max(s.seq) OVER w AS last_seq,
           min(s.seq) FILTER (WHERE s.message <> '') OVER w AS first_msg,
           max(s.rerun) OVER w AS rr
    FROM junit_stage s
    WINDOW w AS (PARTITION BY s.identity COLLATE "C")
), g AS (
    SELECT (e.identity COLLATE "C") COLLATE "default" AS identity,
           min(e.first_seq) AS first_seq,
           min(e.where_) FILTER (WHERE e.seq = e.first_seq) AS where_,
           min(e.suite) FILTER (WHERE e.seq = e.first_seq) AS suite,
           min(e.classname) FILTER (WHERE e.seq = e.first_seq) AS classname,
           min(e.name) FILTER (WHERE e.seq = e.first_seq) AS name,
           min(e.legacy) FILTER (WHERE e.seq = e.first_seq) AS legacy,
           min(e.suite_id) FILTER (WHERE e.seq = e.first_seq) AS suite_id,
           min(e.name_reqs) FILTER (WHERE e.seq = e.first_seq) AS name_reqs,
           max(e.rr) > 0 AS rerun,
           -- rerun dialects: the last element and whether any attempt before it was bad
           min(e.st) FILTER (WHERE e.seq = e.last_seq) AS last_status,
           nullif(min(e.duration) FILTER (WHERE e.seq = e.last_seq), -1) AS last_duration,
           bool_or(e.earlier_bad OR (e.seq < e.last_seq AND (e.bad OR (e.rr = 1 AND e.empty)))) AS rerun_bad,
           -- elsewhere: executions by status, retried skips
           count(*) FILTER (WHERE e.st = 'passed') AS n_passed,
           count(*) FILTER (WHERE e.st = 'failed') AS n_failed,
           count(*) FILTER (WHERE e.st = 'error') AS n_error,
           count(*) FILTER (WHERE e.st = 'skipped') AS n_skips,
           bool_or(e.st = 'passed' AND e.earlier_bad) AS flaky_run,
           nullif((array_agg(e.duration ORDER BY e.st <> 'skipped' DESC, e.seq DESC))[1], -1) AS duration,
           sum(e.attempts) AS attempts,
           coalesce(
               (array_agg(e.message ORDER BY e.seq DESC) FILTER (WHERE e.bad AND e.message <> ''))[1],
               min(e.message) FILTER (WHERE e.seq = e.first_msg),
               ''
           ) AS message,
           coalesce(
               (array_agg(e.details ORDER BY e.seq DESC) FILTER (
                   WHERE e.details <> '' AND (e.bad OR e.first_msg IS NULL OR e.seq <= e.first_msg)
               ))[1],
               ''
           ) AS details
    FROM e
    GROUP BY e.identity COLLATE "C"
), x AS (
    SELECT g.*,
           CASE WHEN g.rerun THEN (g.last_status = 'passed')::int ELSE g.n_passed END AS ex_passed,
           CASE WHEN g.rerun THEN (g.last_status = 'failed')::int ELSE g.n_failed END AS ex_failed,
           CASE WHEN g.rerun THEN (g.last_status = 'error')::int ELSE g.n_error END AS ex_error,
           CASE WHEN g.rerun THEN (g.last_status = 'skipped')::int
                WHEN g.n_passed + g.n_failed + g.n_error > 0 THEN 0 ELSE g.n_skips END AS ex_skipped
    FROM g
)
SELECT x.identity, x.first_seq, x.where_, x.suite, x.classname, x.name,
       left(CASE WHEN x.classname <> '' THEN x.classname || '.' || x.name ELSE x.name END, 500) AS title,
       nullif(x.legacy, '') AS legacy, x.suite_id,
       x.name_reqs, x.ex_passed, x.ex_failed, x.ex_error, x.ex_skipped,
       CASE WHEN x.ex_error > 0 THEN 'error' WHEN x.ex_failed > 0 THEN 'failed'
            WHEN x.ex_passed > 0 THEN 'passed' ELSE 'skipped' END AS status,
       CASE WHEN x.rerun THEN x.last_status = 'passed' AND x.rerun_bad
            ELSE x.flaky_run OR (x.n_skips > 0 AND x.n_passed > 0 AND x.n_failed = 0 AND x.n_error = 0)
       END AS flaky,
       CASE WHEN x.rerun THEN x.last_duration ELSE x.duration END AS duration,
       x.attempts, x.message, x.details
FROM x
"""

TOTALS = """
SELECT count(*), coalesce(sum(ex_passed), 0), coalesce(sum(ex_failed), 0), coalesce(sum(ex_error), 0),
       coalesce(sum(ex_skipped), 0), count(*) FILTER (WHERE flaky)
FROM junit_case
"""

# A row migrated from the old suite-based identity, named by a test the report places by file: it takes the
# file-based identity (the first test claiming it wins), so the test keeps its history (testing/ingest_cases.py).
ADOPT = """
UPDATE testing_testcase t
SET identity = c.identity, location = c.where_, classname = c.classname, updated_at = %(now)s
FROM (
    SELECT DISTINCT ON (c.legacy) c.legacy, c.identity, c.where_, c.classname
    FROM junit_case c
    WHERE c.legacy IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM testing_testcase k WHERE k.project_id = %(project)s AND k.identity = c.identity
    )
    ORDER BY c.legacy, c.first_seq
) c
WHERE t.project_id = %(project)s AND t.location = '' AND t.identity = c.legacy
"""

CREATE_CASES = """
INSERT INTO testing_testcase (project_id, identity, suite, classname, location, name, title, kind, component,
                              preconditions, steps, created_at, updated_at)
SELECT %(project)s, c.identity, c.suite, c.classname, c.where_, c.name, c.title, %(kind)s, '', '', '[]'::jsonb,
       %(now)s, %(now)s
FROM junit_case c
WHERE NOT EXISTS (SELECT 1 FROM testing_testcase t WHERE t.project_id = %(project)s AND t.identity = c.identity)
ORDER BY c.first_seq
ON CONFLICT DO NOTHING
"""

WRITE_RESULTS = """
INSERT INTO testing_testresult (run_id, release_id, test_case_id, status, duration, message, details, flaky,
                                attempts, finished_at, comment, step_results)
SELECT %(run)s, %(release)s, t.id, c.status, c.duration, c.message, c.details, c.flaky,
       least(c.attempts, 32767), %(now)s, '', '[]'::jsonb
FROM junit_case c
JOIN testing_testcase t ON t.project_id = %(project)s AND t.identity = c.identity
"""

# The links made are recorded in the link history in the same statement (testing.services.tracing does the same
# for every other writer), so metrics as of T replay them.
LINK_REQUIREMENTS = """
WITH made AS (
INSERT INTO {through} (testcase_id, requirement_id)
SELECT DISTINCT t.id, r.req
FROM (
    SELECT s.identity, unnest(s.reqs) AS req FROM junit_stage s WHERE cardinality(s.reqs) > 0
    UNION ALL
    SELECT c.identity, unnest(c.name_reqs) FROM junit_case c WHERE cardinality(c.name_reqs) > 0
    UNION ALL
    SELECT c.identity, q.req FROM junit_case c JOIN junit_suite_req q ON q.suite_id = c.suite_id
) r
JOIN testing_testcase t ON t.project_id = %(project)s AND t.identity = r.identity
ON CONFLICT DO NOTHING
RETURNING testcase_id, requirement_id
)
INSERT INTO {history} (test_case_id, requirement_id, added, at, by_id)
SELECT testcase_id, requirement_id, true, %(now)s, NULL FROM made
"""


@dataclass(frozen=True, slots=True)
class StagedTotals:
    test_cases: int
    passed: int
    failed: int
    error: int
    skipped: int
    flaky: int

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
        self._in_name = requirement_keys_in_name

    def ids(self, keys) -> list[int]:
        return sorted({self.known[k] for k in keys if k in self.known}) if keys and self.known else []

    def name_ids(self, classname: str, name: str) -> list[int]:
        if not self.prefixes:
            return []
        text = f"{classname} {name}"
        lowered = text.lower()
        if not any(p in lowered for p in self.prefixes):
            return []
        return self.ids(self._in_name(text))


def _ints(values: list[int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


class StagingSink:
    """Writes every element to junit_stage as it is read; keeps only per-suite facts (a few per suite).

    Rows go out in COPY's text format with the unit separator (U+001F) as delimiter: XML 1.0 cannot carry that
    character, so only backslashes and line breaks need escaping, once per row. Nothing is NULL: no legacy
    identity is '', no duration -1, no suite 0.
    """

    def __init__(self, cursor, matcher: RequirementMatcher):
        self.cursor = cursor
        self.matcher = matcher
        self.seq = 0
        self.buffer = io.StringIO()
        self.rows = 0
        self.suite_parent: dict[int, int | None] = {}
        self.suite_reqs: dict[int, set[int]] = {}
        self.todos: list[tuple[int, int]] = []  # (element seq, last seq of its suite)
        self._suite_where = ("\x00", "")  # the last suite name seen and its normalised form

    def add(self, read: ElementRead, suite) -> int:
        self.seq += 1
        e = read.element
        where, suite_name = read.where[:FIELD_CHARS], read.suite[:FIELD_CHARS]
        classname, name = read.classname[:FIELD_CHARS], read.name[:FIELD_CHARS]
        legacy = ""
        if self._suite_where[0] != suite_name:
            self._suite_where = (suite_name, normalise_scope(suite_name))
        suite_where = self._suite_where[1]
        if (
            where != suite_where
        ):  # placed by file: the identity a migrated row would have (testing/ingest_cases.py)
            legacy = make_identity(where=suite_where, classname=normalise_scope(classname), name=name)
        duration = -1 if e.duration is None or not math.isfinite(e.duration) else repr(e.duration)
        fields = (
            self.seq,
            read.identity,
            where,
            suite_name,
            classname,
            name,
            legacy,
            e.status,
            "t" if BAD.intersection(e.attempts[:-1]) else "f",
            "t" if e.empty else "f",
            len(e.attempts),
            duration,
            e.message,
            e.details,
            _ints(self.matcher.ids(e.keys)),
            _ints(self.matcher.name_ids(classname, name)),
            suite.id if suite is not None else 0,
            _RERUN_CODE.get(read.dialect, 0),
        )
        row = "\x1f".join(map(str, fields))
        if row.count("\x1f") != len(fields) - 1:  # a separator inside a value (not XML 1.0): drop it
            row = "\x1f".join(str(f).replace("\x1f", "") for f in fields)
        if _NEEDS_ESCAPE.search(row):
            row = row.translate(_COPY_ESCAPES)
        self.buffer.write(row)
        self.buffer.write("\n")
        self.rows += 1
        if self.rows >= COPY_ROWS:
            self.flush()
        return self.seq

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
            self.buffer.seek(0)
            self.cursor.copy_expert(
                f"COPY junit_stage ({STAGE_COLUMNS}) FROM STDIN WITH (FORMAT text, DELIMITER E'\\x1f')",
                self.buffer,
            )
            self.buffer = io.StringIO()
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
    """Read the report into junit_stage and settle it into junit_case (one row per test); the run's totals.

    Must run inside a transaction (the temporary tables are dropped at its end). Raises JUnitRefused.
    """
    from .models import Requirement

    known = {
        key.upper(): pk
        for key, pk in Requirement.objects.filter(project_id=project_id).values_list("key", "id")
    }
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS junit_stage, junit_case, junit_suite_req")
        cursor.execute(CREATE_STAGE)
        sink = StagingSink(cursor, RequirementMatcher(known))
        read_report(file, sink)
        sink.flush()
        if sink.todos:
            cursor.execute(
                """
                UPDATE junit_stage s SET todo = true
                FROM (
                    -- a candidate is a todo when no other element of its test came before its suite ended
                    -- (hash joins: a few scans of the staging table whatever the number of candidates)
                    SELECT t.seq
                    FROM unnest(%s::int[], %s::int[]) AS t(seq, until)
                    JOIN junit_stage c ON c.seq = t.seq
                    JOIN junit_stage o ON o.identity = c.identity AND o.seq <= t.until
                    GROUP BY t.seq
                    HAVING count(*) = 1
                ) ok
                WHERE s.seq = ok.seq
                """,
                [[seq for seq, _ in sink.todos], [until for _, until in sink.todos]],
            )
        cursor.execute(
            "CREATE TEMPORARY TABLE junit_suite_req (suite_id integer, req integer) ON COMMIT DROP"
        )
        pairs = sink.suite_requirements()
        if pairs:
            cursor.execute(
                "INSERT INTO junit_suite_req SELECT * FROM unnest(%s::int[], %s::int[])",
                [[s for s, _ in pairs], [r for _, r in pairs]],
            )
        cursor.execute(SETTLE)
        cursor.execute(TOTALS)
        return StagedTotals(*map(int, cursor.fetchone()))


def write_staged(*, run, project_id: int, finished_at) -> None:
    """Find, adopt or create the staged tests' cases, insert the run's results and link requirements."""
    now = timezone.now()
    params = {
        "project": project_id,
        "now": now,
        "kind": TestCaseKind.AUTOMATED,
        "run": run.pk,
        "release": run.release_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(ADOPT, params)
        cursor.execute(CREATE_CASES, params)
        cursor.execute(WRITE_RESULTS, {**params, "now": finished_at})
        through = connection.ops.quote_name(TestCase.requirements.through._meta.db_table)
        history = connection.ops.quote_name(TestCaseLinkChange._meta.db_table)
        cursor.execute(LINK_REQUIREMENTS.format(through=through, history=history), params)
