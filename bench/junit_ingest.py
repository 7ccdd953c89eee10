"""JUnit ingestion benchmark: end-to-end upload of a 100,000-testcase report vs. a bare PostgreSQL COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qg_bench_junit .venv/bin/python bench/junit_ingest.py
    .venv/bin/python bench/junit_ingest.py --tests 20000 --repeats 1      # quicker

It builds a throw-away test database (test_<name>, destroyed at the end) and a report of N testcases over
100 suites (1% failures, 2% skipped, 0.5% flaky via Surefire rerun elements, 1% linked to a requirement by
property).
Then, in the same run and on the same database:

* upload (cold): POST /api/v1/releases/{id}/junit/ through Django's test client with a token, the report as the
  raw body, when none of the tests exists yet (N test cases are created too);
* upload (warm): the same report for a new revision, the usual CI case (test cases exist, only results written);
* baseline: COPY of the same N result rows (same columns and values) from an in-memory buffer into a bare
  table with the result table's column types and no index, constraint or foreign key.

Each timing is the median of --repeats runs. The ratio of the upload to the COPY into the real result table
(same indexes and foreign keys) is the figure issue 15 targets (<= 2x); --tests 1000000 for the 1M case.
The metric recompute the upload schedules is disabled, as it runs after the response in production.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitygov.settings.test")


def build_report(n: int) -> bytes:
    """A report like a big CI job writes: 100 suites, some failures, skips, retries and requirement links."""
    suites = 100
    per_suite = max(1, -(-n // suites))
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bench">']
    for s in range(suites):
        first, last = s * per_suite, min(n, (s + 1) * per_suite)
        if first >= last:
            break
        parts.append(f'<testsuite name="pkg.module{s}" tests="{last - first}" time="12.5">')
        for i in range(first, last):
            cls = f"pkg.module{s}.TestFeature{i % 7}"
            if i % 100 == 0:
                parts.append(
                    f'<testcase classname="{cls}" name="test_case_{i}" time="0.120">'
                    f'<failure message="AssertionError: expected 200, got 500" type="AssertionError">'
                    f'Traceback (most recent call last):\n  File "tests/test_{s}.py", line {i % 400}\n'
                    f"AssertionError: expected 200, got 500</failure><system-out>request id {i}</system-out>"
                    f"</testcase>"
                )
            elif i % 50 == 1:
                parts.append(
                    f'<testcase classname="{cls}" name="test_case_{i}" time="0"><skipped message="not on CI"/>'
                    f"</testcase>"
                )
            elif i % 200 == 2:
                # a rerun the Surefire way: the first attempt failed, the rerun passed -> one flaky result
                parts.append(
                    f'<testcase classname="{cls}" name="test_case_{i}" time="0.021"><flakyFailure '
                    f'message="timeout"/></testcase>'
                )
            elif i % 100 == 3:
                parts.append(
                    f'<testcase classname="{cls}" name="test_case_{i}" time="0.011"><properties>'
                    f'<property name="requirement" value="REQ-{i % 50 + 1}"/></properties></testcase>'
                )
            else:
                parts.append(f'<testcase classname="{cls}" name="test_case_{i}" time="0.011"/>')
        parts.append("</testsuite>")
    parts.append("</testsuites>\n")
    return "".join(parts).encode()


BARE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_bare_result (
    run_id bigint, release_id bigint, test_case_id bigint, status varchar(8), duration double precision,
    message text, details text, flaky boolean, attempts smallint, finished_at timestamptz, comment text,
    step_results jsonb
)
"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    import metrics.services
    from releases.models import Membership, Project, Release, Role
    from testing import ingest
    from testing.junit import parse_report
    from testing.models import Requirement, TestCase, TestResult, TestRun

    metrics.services.schedule_recompute = lambda **kwargs: None
    old = setup_databases(verbosity=0, interactive=False)
    try:
        if connection.vendor != "postgresql":
            print("Note: not PostgreSQL; the COPY baseline needs PostgreSQL, only upload times are reported.")
        print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
        report = build_report(args.tests)
        print(f"Report: {args.tests} testcases, {len(report) / 1e6:.1f} MB")

        from django.contrib.auth import get_user_model

        project = Project.objects.create(key="BENCH", name="Bench")
        release = Release.objects.create(project=project, version="1.0.0")
        user = get_user_model().objects.create_user("ci-bot", password="x")
        Membership.objects.create(project=project, user=user, role=Role.QA)
        Requirement.objects.bulk_create(
            Requirement(project=project, key=f"REQ-{i}", title=f"r{i}") for i in range(1, 51)
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

        def upload(revision: str) -> tuple[float, dict]:
            started = time.perf_counter()
            response = client.post(
                f"/api/v1/releases/{release.pk}/junit/?revision={revision}",
                data=report,
                content_type="application/xml",
            )
            elapsed = time.perf_counter() - started
            assert response.status_code == 201, response.content[:500]
            return elapsed, response.json()

        def reset_cases() -> None:
            TestResult.objects.all().delete()
            TestRun.objects.all().delete()
            TestCase.objects.all().delete()

        cold, warm = [], []
        body = {}
        for r in range(args.repeats):
            reset_cases()
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE testing_testcase")
            t, body = upload(f"cold-{r}")
            cold.append(t)
            t, body = upload(f"warm-{r}")
            warm.append(t)
        print(f"Counts: {body}")

        # Parse time alone (the streaming reader), for the breakdown.
        parse_times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            parsed = parse_report(io.BytesIO(report))
            parse_times.append(time.perf_counter() - started)

        copy_times, real_copy = [], []
        if connection.vendor == "postgresql":
            run = TestRun.objects.order_by("-id").first()
            case_ids = dict(TestCase.objects.filter(project=project).values_list("identity", "id"))
            finished = run.finished_at.isoformat()
            lines = []
            for identity, c in parsed.cases.items():
                duration = "\\N" if c.duration is None else repr(c.duration)
                lines.append(
                    f"{run.pk}\t{release.pk}\t{case_ids[identity]}\t{c.status}\t{duration}\t"
                    f"{ingest._copy_text(c.message)}\t{ingest._copy_text(c.details)}\t{'t' if c.flaky else 'f'}\t"
                    f"{c.attempts}\t{finished}\t\t[]\n"
                )
            payload = "".join(lines)
            with connection.cursor() as cursor:
                cursor.execute(BARE_TABLE)
                for _ in range(args.repeats):
                    cursor.execute("TRUNCATE bench_bare_result")
                    buffer = io.StringIO(payload)
                    started = time.perf_counter()
                    cursor.copy_expert(
                        f"COPY bench_bare_result ({', '.join(ingest.RESULT_COLUMNS)}) FROM STDIN WITH (FORMAT text)",
                        buffer,
                    )
                    copy_times.append(time.perf_counter() - started)
                cursor.execute("SELECT count(*) FROM bench_bare_result")
                assert cursor.fetchone()[0] == len(parsed.cases)
                cursor.execute("DROP TABLE bench_bare_result")
            # Where the gap is: the same COPY into the real result table (its indexes and foreign keys), committed.
            from django.db import transaction

            for r in range(args.repeats):
                target = TestRun.objects.create(release=release, name=f"copy-{r}")
                rows = payload.replace(f"{run.pk}\t{release.pk}\t", f"{target.pk}\t{release.pk}\t")
                started = time.perf_counter()
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.copy_expert(
                        f"COPY testing_testresult ({', '.join(ingest.RESULT_COLUMNS)}) FROM STDIN WITH (FORMAT text)",
                        io.StringIO(rows),
                    )
                real_copy.append(time.perf_counter() - started)

        cold_s, warm_s, parse_s = (
            statistics.median(cold),
            statistics.median(warm),
            statistics.median(parse_times),
        )
        print(f"Upload, cold (creates {len(parsed.cases)} test cases): median {cold_s:.2f} s  {sorted(cold)}")
        print(f"Upload, warm (test cases exist, new revision):      median {warm_s:.2f} s  {sorted(warm)}")
        print(f"  of which streaming parse alone:                     median {parse_s:.2f} s")
        if copy_times:
            copy_s = statistics.median(copy_times)
            print(
                f"COPY of the same {len(parsed.cases)} rows into a bare table:   median {copy_s:.2f} s  "
                f"{sorted(copy_times)}"
            )
            print(
                "COPY of the same rows into testing_testresult (its indexes and FKs), committed: median "
                f"{statistics.median(real_copy):.2f} s  {sorted(real_copy)}"
            )
            indexed_s = statistics.median(real_copy)
            print(f"Ratio upload / bare COPY: warm {warm_s / copy_s:.1f}x, cold {cold_s / copy_s:.1f}x")
            print(
                f"Ratio upload / COPY into the indexed result table: warm {warm_s / indexed_s:.1f}x, "
                f"cold {cold_s / indexed_s:.1f}x (issue 15's target: <= 2x)"
            )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"Peak RSS of the whole benchmark process: {peak_mb:.0f} MB")
    finally:
        teardown_databases(old, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
