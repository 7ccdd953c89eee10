"""PostgreSQL connection dropped in the middle of a JUnit upload.

The upload's own database backend is terminated (`pg_terminate_backend`, from a second connection) at the fault
point `testing.junit_ingest.results_written`: after the run row, the new test cases and every result went to the
server with COPY, before the transaction commits. The upload must answer 503 with a message (no traceback),
leave nothing behind, and the same upload sent again must succeed with the right counts.
"""

from __future__ import annotations

import psycopg2
import pytest
from django.db import connection

from metrics.models import PendingRecompute
from qualitygov import faults
from testing import models as tm

from .faultkit import junit_report, require_postgres

pytestmark = pytest.mark.django_db(transaction=True)

POINT = "testing.junit_ingest.results_written"
PASSED, FAILED, SKIPPED = 40, 7, 3


def _second_connection():
    s = connection.settings_dict
    return psycopg2.connect(
        dbname=s["NAME"],
        user=s["USER"],
        password=s["PASSWORD"] or None,
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
    )


def _counts():
    return (tm.TestRun.objects.count(), tm.TestResult.objects.count(), tm.TestCase.objects.count())


def test_connection_dropped_mid_upload_fails_cleanly_and_a_retry_succeeds(release, api_client_for, qa):
    require_postgres("terminating the upload's backend")
    api = api_client_for(qa)
    report = junit_report(suite="tests.payments", passed=PASSED, failed=FAILED, skipped=SKIPPED)
    url = f"/api/v1/releases/{release.pk}/junit/?revision=abc123"
    killer = _second_connection()
    killer.autocommit = True
    terminated: list[int] = []

    def drop_the_upload_connection(_name: str) -> None:
        # Results are on the server, uncommitted: prove it, then cut the connection from the server side.
        pid = connection.connection.get_backend_pid()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM testing_testresult")
            assert cursor.fetchone()[0] == PASSED + FAILED + SKIPPED
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
        terminated.append(pid)

    try:
        # given nothing ingested yet
        assert _counts() == (0, 0, 0)
        # when the database connection is dropped while the upload is being written
        with faults.hook(POINT, drop_the_upload_connection):
            response = api.post(url, data=report, content_type="application/xml")
        assert terminated, "the fault point was never reached"
        # then the upload fails with 503 and a message, not a 500 or a traceback
        assert response.status_code == 503, response.content
        body = response.json()
        assert body["code"] == "database_unavailable" and "nothing was saved" in body["detail"]
        assert "Traceback" not in response.content.decode()
        assert response["Retry-After"]
        # and nothing is half-written: no run, no results, no test cases, no recompute request
        assert connection.connection is None or connection.connection.get_backend_pid() != terminated[0]
        assert _counts() == (0, 0, 0)
        assert not PendingRecompute.objects.exists()
        with killer.cursor() as cursor:  # seen from another session too
            cursor.execute("SELECT count(*) FROM testing_testresult")
            assert cursor.fetchone()[0] == 0

        # when the client retries the same upload
        retry = api.post(url, data=report, content_type="application/xml")
        # then it is ingested once, with the right counts
        assert retry.status_code == 201, retry.content
        got = retry.json()
        assert (got["tests"], got["passed"], got["failed"], got["skipped"], got["duplicate"]) == (
            PASSED + FAILED + SKIPPED,
            PASSED,
            FAILED,
            SKIPPED,
            False,
        )
        run = tm.TestRun.objects.get()
        assert tm.TestResult.objects.filter(run=run).count() == PASSED + FAILED + SKIPPED
        assert tm.TestResult.objects.filter(run=run, status="failed").count() == FAILED
        assert tm.TestCase.objects.filter(project=release.project).count() == PASSED + FAILED + SKIPPED
        # and a third send is recognised as the same report, not counted twice
        again = api.post(url, data=report, content_type="application/xml")
        assert again.status_code in (200, 201) and again.json()["duplicate"] is True
        assert _counts() == (1, PASSED + FAILED + SKIPPED, PASSED + FAILED + SKIPPED)
    finally:
        killer.close()
