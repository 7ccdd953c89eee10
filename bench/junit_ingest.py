"""JUnit ingestion benchmark: the upload of a large report vs. COPY of the same rows, with peak memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qg_bench_junit nice -n 10 .venv/bin/python \
        bench/junit_ingest.py --tests 100000 1000000
    .venv/bin/python bench/junit_ingest.py --tests 20000      # quicker

It builds a throw-away test database (test_<name>, destroyed at the end) and, for each N, a report of N
testcases over 100 suites (1% failures, 2% skipped, 0.5% flaky via Surefire rerun elements, 1% linked to a
requirement by property), written to a file. Then, in the same run and on the same database:

* upload (cold): a fresh Python process ingests the file as the worker does (`junit_ingest` on the spooled
  file; below QUALITYGOV_JUNIT_ASYNC_BYTES the web process runs the same call), when none of the tests exists
  yet (N test cases are created too); it reports its time, its own peak RSS (getrusage) and the peak RSS of
  its PostgreSQL backend (VmHWM from /proc);
* upload (warm): the same for a new revision, the usual CI case (test cases exist, only results written);
* baselines: the run's N result rows dumped to a file, then COPY of them into a bare table with the result
  table's column types (no index, constraint or foreign key), and into testing_testresult itself (its indexes
  and foreign keys, committed).

Each timing is the median of --repeats runs. The ratio of the warm upload to the COPY into the result table is
the figure issue 15 targets (<= 2x). The counts are checked against what the report holds by construction.
The metric recompute the upload schedules is disabled, as it runs after the response in production.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitygov.settings.test")


def write_report(n: int, out) -> None:
    """A report like a big CI job writes: 100 suites, some failures, skips, retries and requirement links."""
    suites = 100
    per_suite = max(1, -(-n // suites))
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bench">')
    for s in range(suites):
        first, last = s * per_suite, min(n, (s + 1) * per_suite)
        if first >= last:
            break
        parts = [f'<testsuite name="pkg.module{s}" tests="{last - first}" time="12.5">']
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
            if len(parts) >= 10_000:
                out.write("".join(parts).encode())
                parts = []
        parts.append("</testsuite>")
        out.write("".join(parts).encode())
    out.write(b"</testsuites>\n")


def expected_counts(n: int) -> dict:
    """What the report holds by construction (one test per testcase element, no repeats)."""
    failed = skipped = flaky = 0
    for i in range(n):
        if i % 100 == 0:
            failed += 1
        elif i % 50 == 1:
            skipped += 1
        elif i % 200 == 2:
            flaky += 1
    return {"tests": n, "passed": n - failed - skipped, "failed": failed, "skipped": skipped, "flaky": flaky}


def _memory_mb_of(pid: int | str) -> dict[str, float]:
    """VmHWM (peak resident set), RssAnon (private) and RssShmem (shared memory, e.g. PostgreSQL's shared
    buffers) of a process from /proc, in MB; empty when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return {
                line.split(":")[0]: int(line.split()[1]) / 1024
                for line in fh
                if line.startswith(("VmHWM:", "RssAnon:", "RssShmem:"))
            }
    except OSError:
        return {}


def child(args) -> int:
    """The ingesting process: what the worker (or, below the async threshold, the web process) runs."""
    import json

    import django

    django.setup()
    from django.db import connection

    import metrics.services
    from qualitygov.uploads import upload_from_path
    from releases.models import Release
    from testing.ingest import junit_ingest

    metrics.services.schedule_recompute = lambda **kwargs: None
    release = Release.objects.select_related("project").get(pk=args.release)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 0")
        backend = cursor.fetchone()[0]
    statements: dict[str, float] = {}

    def timed(execute, sql, params, many, context):  # the profile: where the database time goes
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(sql.split())[:60]
            statements[key] = statements.get(key, 0.0) + time.perf_counter() - began

    if connection.vendor == "postgresql":  # the staging COPY is fed while parsing: time the two together
        from testing.ingest_staged import RowPipe

        stage = RowPipe.stage

        def timed_stage(pipe, cursor, file, sink):
            began = time.perf_counter()
            try:
                return stage(pipe, cursor, file, sink)
            finally:
                statements["COPY junit_stage (parsing the report)"] = time.perf_counter() - began

        RowPipe.stage = timed_stage
    started = time.perf_counter()
    upload = upload_from_path(args.child, limit=1 << 40)
    try:
        with connection.execute_wrapper(timed):
            outcome = junit_ingest(release=release, upload=upload, by=None, revision=args.revision)
    finally:
        upload.close()
    seconds = time.perf_counter() - started
    answer = {
        "seconds": seconds,
        # VmHWM of this process's own memory: getrusage's ru_maxrss would carry the parent's peak over exec
        "rss_mb": _memory_mb_of("self").get("VmHWM")
        or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "backend": _memory_mb_of(backend) if backend else {},
        "counts": outcome.as_dict(),
        "profile": sorted(statements.items(), key=lambda kv: -kv[1])[:8],
    }
    print(json.dumps(answer))
    return 0


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
    parser.add_argument("--tests", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: ingest this file in this process
    parser.add_argument("--release", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--revision", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test.utils import setup_databases, teardown_databases

    from releases.models import Project, Release
    from testing import ingest
    from testing.models import Requirement, TestRun

    old = setup_databases(verbosity=0, interactive=False)
    test_db = settings.DATABASES["default"]["NAME"]
    try:
        if connection.vendor != "postgresql":
            print("Note: not PostgreSQL; the COPY baselines need PostgreSQL, only upload times are reported.")
        print(f"Database: {connection.vendor} ({test_db}); load average before: {os.getloadavg()}")
        get_user_model().objects.create_user("ci-bot", password="x")
        env = dict(os.environ)
        if connection.vendor == "postgresql":
            db = settings.DATABASES["default"]
            env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{test_db}"
        with tempfile.TemporaryDirectory() as folder:
            for n in args.tests:
                path = os.path.join(folder, f"report-{n}.xml")
                with open(path, "wb") as out:
                    write_report(n, out)
                print(f"\nReport: {n:,} testcases, {os.path.getsize(path) / 1e6:.1f} MB")
                project = Project.objects.create(key=f"BENCH{n}", name=f"Bench {n}")
                Requirement.objects.bulk_create(
                    Requirement(project=project, key=f"REQ-{i}", title=f"r{i}") for i in range(1, 51)
                )
                release = Release.objects.create(project=project, version=f"{n}.0")

                cold, warm = [], []
                for r in range(args.repeats):
                    _reset(project, release)
                    cold.append(_upload_in_child(path, release.pk, f"cold-{r}", env))
                    warm.append(_upload_in_child(path, release.pk, f"warm-{r}", env))
                counts = warm[-1]["counts"]
                expected = expected_counts(n)
                got = {k: counts[k] for k in expected}
                assert got == expected, (got, expected)
                print(f"Counts: {counts}")
                _report_times(n, cold, warm)
                if connection.vendor == "postgresql":
                    run = TestRun.objects.get(pk=counts["run"])
                    _copy_baselines(n, run, release, folder, ingest.RESULT_COLUMNS, warm, transaction)
                print(f"Load average after: {os.getloadavg()}")
    finally:
        teardown_databases(old, verbosity=0)
    return 0


def _reset(project, release) -> None:
    """Remove the project's runs, results and test cases in a few statements (Django's delete() would load
    every row into this process)."""
    from django.db import connection

    from testing.models import TestCase, TestCaseLinkChange

    through = TestCase.requirements.through._meta.db_table
    history = TestCaseLinkChange._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM testing_testresult WHERE release_id = %s", [release.pk])
        cursor.execute("DELETE FROM testing_testrun WHERE release_id = %s", [release.pk])
        cursor.execute(
            f"DELETE FROM {history} WHERE test_case_id IN (SELECT id FROM testing_testcase WHERE project_id = %s)",  # noqa: S608
            [project.pk],
        )
        cursor.execute(
            f"DELETE FROM {through} WHERE testcase_id IN (SELECT id FROM testing_testcase WHERE project_id = %s)",  # noqa: S608
            [project.pk],
        )
        cursor.execute("DELETE FROM testing_testcase WHERE project_id = %s", [project.pk])
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE testing_testcase")


def _upload_in_child(path: str, release_id: int, revision: str, env: dict) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        path,
        "--release",
        str(release_id),
        "--revision",
        revision,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(values) -> float:
    return statistics.median(values)


def _report_times(n: int, cold: list[dict], warm: list[dict]) -> None:
    for label, runs in (
        ("cold (creates the test cases)", cold),
        ("warm (test cases exist, new revision)", warm),
    ):
        print(
            f"Upload, {label}: median {_median([r['seconds'] for r in runs]):.2f} s; peak RSS of the ingesting "
            f"process {max(r['rss_mb'] for r in runs):.0f} MB, of its PostgreSQL backend "
            f"{max(r['backend'].get('VmHWM', 0) for r in runs):.0f} MB (at the end: private "
            f"{max(r['backend'].get('RssAnon', 0) for r in runs):.0f} MB, shared buffers touched "
            f"{max(r['backend'].get('RssShmem', 0) for r in runs):.0f} MB)"
        )
        print("  statements (s, last run; the staging COPY is fed while the report is parsed):")
        for sql, spent in runs[-1]["profile"]:
            print(f"    {spent:7.2f}  {sql}")


def _copy_baselines(n, run, release, folder, columns, warm, transaction) -> None:
    """COPY of the same result rows (dumped from the run just stored) into a bare table and into the result table."""
    from django.db import connection

    from testing.models import TestRun

    dump = os.path.join(folder, "rows.copy")
    select = ", ".join(("0", *columns[1:]))  # run id 0, put on the target run when read back
    with connection.cursor() as cursor, open(dump, "w") as out:
        query = f"SELECT {select} FROM testing_testresult WHERE run_id = {int(run.pk)}"  # noqa: S608 - constants
        cursor.copy_expert(f"COPY ({query}) TO STDOUT", out)
    columns_sql = ", ".join(columns)
    bare, real = [], []
    with connection.cursor() as cursor:
        cursor.execute(BARE_TABLE)
        for _ in range(len(warm)):
            cursor.execute("TRUNCATE bench_bare_result")
            with open(dump) as rows:
                started = time.perf_counter()
                cursor.copy_expert(
                    f"COPY bench_bare_result ({columns_sql}) FROM STDIN WITH (FORMAT text)", rows
                )
                bare.append(time.perf_counter() - started)
        cursor.execute("DROP TABLE bench_bare_result")
    for r in range(len(warm)):
        target = TestRun.objects.create(release=release, name=f"copy-{r}")
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor, open(dump) as rows:
            cursor.copy_expert(
                f"COPY testing_testresult ({columns_sql}) FROM STDIN WITH (FORMAT text)",
                _RunIdRewriter(rows, target.pk),
            )
        real.append(time.perf_counter() - started)
    warm_s, bare_s, real_s = _median([r["seconds"] for r in warm]), _median(bare), _median(real)
    print(f"COPY of the same {n:,} rows into a bare table: median {bare_s:.2f} s")
    print(
        f"COPY of the same rows into testing_testresult (its indexes and FKs), committed: median {real_s:.2f} s"
    )
    print(
        f"Ratio warm upload / COPY into the indexed result table: {warm_s / real_s:.1f}x (issue 15's target: "
        f"<= 2x); / bare COPY: {warm_s / bare_s:.1f}x"
    )


class _RunIdRewriter:
    """The dumped rows with run id 0 put on the target run as COPY reads them (no second copy in memory)."""

    def __init__(self, rows, run_id: int):
        self.rows = rows
        self.prefix = f"{run_id}\t"

    def read(self, size: int = -1) -> str:
        lines = self.rows.readlines(max(size, 1 << 16))
        return "".join(self.prefix + line[2:] for line in lines)

    def readline(self, size: int = -1) -> str:
        line = self.rows.readline()
        return self.prefix + line[2:] if line else ""


if __name__ == "__main__":
    sys.exit(main())
