"""The test cases a JUnit report names: found by identity, created when new, adopted from a migrated row.

Rows migrated from the old ``scope::name`` identities do not know the file their test lives in (``location``
is empty). When a report names a file for a test whose suite-based identity matches such a row, the row is
adopted: its identity and location take the file-based values, so the test keeps its history. Several files
claiming one migrated row (jest: the same title in two files used to be one test) give it to the first.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from .junit import ParsedReport, make_identity, normalise_scope
from .junit_rules import ParsedCase
from .models import TestCase, TestCaseKind

BATCH = 2000
PG_BATCH = 50_000  # identities per `= ANY` lookup and per INSERT: bounded statement size at any report size
# The columns a new automated test case takes from its parsed case (column -> ParsedCase attribute), in the order
# of _insert_batch's column list; the ORM path (SQLite) sets the same.
CASE_COLUMNS = {
    "identity": "identity",
    "suite": "suite",
    "classname": "classname",
    "location": "where",
    "name": "name",
    "title": "title",
}


def upsert_test_cases(*, project_id: int, report: ParsedReport) -> dict[str, int]:
    """Create the automated test cases this report names for the first time; return identity -> id."""
    cases = report.cases
    if not cases:
        return {}
    identities = list(cases)
    ids = _known(project_id, identities)
    missing = [cases[i] for i in identities if i not in ids]
    if missing:
        ids.update(_adopt(project_id, missing))
        missing = [c for c in missing if c.identity not in ids]
    if missing:
        ids.update(_create(project_id, missing))
    return ids


def _known(project_id: int, identities: list[str]) -> dict[str, int]:
    if connection.vendor == "postgresql":
        ids: dict[str, int] = {}
        with connection.cursor() as cursor:
            for start in range(0, len(identities), PG_BATCH):
                cursor.execute(
                    "SELECT identity, id FROM testing_testcase WHERE project_id = %s AND identity = ANY(%s::text[])",
                    [project_id, identities[start : start + PG_BATCH]],
                )
                ids.update(cursor.fetchall())
        return ids
    ids: dict[str, int] = {}
    for start in range(0, len(identities), 500):
        chunk = identities[start : start + 500]
        ids.update(
            TestCase.objects.filter(project_id=project_id, identity__in=chunk).values_list("identity", "id")
        )
    return ids


def _legacy_identity(case: ParsedCase) -> str | None:
    """The identity a migrated row would have for this test, when the report placed it by file."""
    suite_where = normalise_scope(case.suite)
    if case.where == suite_where:
        return None
    return make_identity(where=suite_where, classname=normalise_scope(case.classname), name=case.name)


def _adopt(project_id: int, missing: list[ParsedCase]) -> dict[str, int]:
    claims: dict[str, ParsedCase] = {}
    for case in missing:
        legacy = _legacy_identity(case)
        if legacy is not None and legacy not in claims:
            claims[legacy] = case
    if not claims:
        return {}
    rows = list(
        TestCase.objects.filter(project_id=project_id, location="", identity__in=list(claims)).values_list(
            "identity", "id"
        )
    )
    adopted: dict[str, int] = {}
    for legacy, pk in rows:
        case = claims[legacy]
        TestCase.objects.filter(pk=pk).update(
            identity=case.identity, location=case.where, classname=case.classname, updated_at=timezone.now()
        )
        adopted[case.identity] = pk
    return adopted


def _create(project_id: int, missing: list[ParsedCase]) -> dict[str, int]:
    if connection.vendor != "postgresql":
        TestCase.objects.bulk_create(
            [
                TestCase(
                    project_id=project_id,
                    kind=TestCaseKind.AUTOMATED,
                    **{column: getattr(c, attr) for column, attr in CASE_COLUMNS.items()},
                )
                for c in missing
            ],
            batch_size=BATCH,
            ignore_conflicts=True,
        )
        return _known(project_id, [c.identity for c in missing])
    now = timezone.now()
    ids: dict[str, int] = {}
    for start in range(0, len(missing), PG_BATCH):
        ids.update(_insert_batch(project_id, missing[start : start + PG_BATCH], now))
    raced = [c.identity for c in missing if c.identity not in ids]
    if raced:  # created by a concurrent upload between our SELECT and INSERT
        ids.update(_known(project_id, raced))
    return ids


def _insert_batch(project_id: int, missing: list[ParsedCase], now) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO testing_testcase (project_id, identity, suite, classname, location, name, title, kind,
                                          component, preconditions, steps, created_at, updated_at)
            SELECT %s, t.identity, t.suite, t.classname, t.location, t.name, t.title, %s, '', '', '[]'::jsonb,
                   %s, %s
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
                 AS t(identity, suite, classname, location, name, title)
            ON CONFLICT DO NOTHING
            RETURNING identity, id
            """,
            [
                project_id,
                TestCaseKind.AUTOMATED,
                now,
                now,
                *([getattr(c, attr) for c in missing] for attr in CASE_COLUMNS.values()),
            ],
        )
        return dict(cursor.fetchall())
