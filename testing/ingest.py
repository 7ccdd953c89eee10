"""JUnit ingestion: one report -> one CI test run with one result per test, in one transaction.

Large reports on PostgreSQL are staged and settled in SQL (testing/ingest_staged.py, flat memory at any size).
The rest of this module is the in-memory path. Parsing happens before anything is written (a refused upload
writes nothing). On PostgreSQL new test cases
are inserted with one `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING`, their ids fetched with one
`= ANY(...)` query, and the results streamed with `COPY ... FROM STDIN`; other databases use bulk_create.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from defects.models import Environment
from qualitygov import hooks
from qualitygov.errors import DomainError
from qualitygov.faults import checkpoint
from qualitygov.uploads import Upload
from releases.access import Action, authorize
from releases.models import Release

from .ingest_cases import upsert_test_cases
from .ingest_staged import stage_report, write_staged
from .junit import ParsedReport, parse_report, requirement_keys_in_name
from .models import Requirement, RunSource, RunStatus, TestResult, TestRun
from .regressions import apply_regressions
from .services.tracing import links_change

RESULT_COLUMNS = (
    "run_id",
    "release_id",
    "test_case_id",
    "status",
    "duration",
    "message",
    "details",
    "flaky",
    "attempts",
    "finished_at",
    "comment",
    "step_results",
)
BATCH = 2000
COPY_BATCH = 50_000


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    run: TestRun
    duplicate: bool
    test_cases: int | None = None  # distinct tests (result rows); the run's `tests` counts executions

    def as_dict(self) -> dict:
        run = self.run
        return {
            "run": run.pk,
            "tests": run.tests,
            "passed": run.passed,
            "failed": run.failed,
            "error": run.errors,
            "skipped": run.skipped,
            "flaky": run.flaky,
            "test_cases": run.results.count() if self.test_cases is None else self.test_cases,
            "duplicate": self.duplicate,
        }


def junit_ingest(
    *,
    release: Release,
    upload: Upload,
    by,
    revision: str = "",
    environment: str = Environment.TEST,
    run_name: str = "",
    check_access: bool = True,
) -> IngestOutcome:
    """Ingest a JUnit report for a release; idempotent per (release, revision, content hash).

    Returns the new run (duplicate=False) or the run that already holds this very report (duplicate=True).
    Raises JUnitRefused (400) for a bad document, AccessDenied (403) without the upload role, DomainError for
    bad parameters. Schedules one metric recompute for the release on commit. `by` needs UPLOAD_RESULTS (None: the
    system, e.g. a file-drop task); `check_access=False` is for the worker of a queued upload, whose user was
    checked when it was queued (ingest_async.junit_enqueue) and is recorded as the run's creator.
    """
    if check_access:
        authorize(by, release.project_id, Action.UPLOAD_RESULTS)
    revision, environment, run_name = clean_run_params(revision, environment, run_name)
    existing = _existing_run(release=release, revision=revision, content_hash=upload.sha256)
    if existing is not None:
        return IngestOutcome(run=existing, duplicate=True)

    staged = uses_staging(upload)
    report = None if staged else parse_report(upload.file)  # refuses before anything is written
    now = timezone.now()
    try:
        with transaction.atomic():
            if staged:  # flat memory: elements staged by COPY and settled in SQL (refusals roll back)
                staged = stage_report(upload.file, project_id=release.project_id)
                counts = staged.as_counts()
            else:
                counts = report.counts()
            run = TestRun.objects.create(
                release=release,
                name=run_name or f"JUnit upload {now:%Y-%m-%d %H:%M:%S}",
                revision=revision,
                environment=environment,
                source=RunSource.CI,
                status=RunStatus.COMPLETED,
                started_at=now,
                finished_at=now,
                created_by=by if getattr(by, "pk", None) else None,
                content_hash=upload.sha256,
                tests=counts["tests"],
                passed=counts["passed"],
                failed=counts["failed"],
                errors=counts["error"],
                skipped=counts["skipped"],
                flaky=counts["flaky"],
            )
            if staged:
                write_staged(run=run, project_id=release.project_id, staged=staged, finished_at=now)
                checkpoint("testing.junit_ingest.results_written")
            else:
                case_ids = upsert_test_cases(project_id=release.project_id, report=report)
                _write_results(run=run, report=report, case_ids=case_ids, finished_at=now)
                checkpoint("testing.junit_ingest.results_written")
                _link_requirements(project_id=release.project_id, report=report, case_ids=case_ids)
            if counts["failed"] or counts["error"]:
                apply_regressions(run=run)
            hooks.evidence_changed(release_ids=[release.pk])
    except IntegrityError:
        # The same report raced in from a concurrent upload: answer like a repeat upload.
        existing = _existing_run(release=release, revision=revision, content_hash=upload.sha256)
        if existing is None:
            raise
        return IngestOutcome(run=existing, duplicate=True)
    return IngestOutcome(run=run, duplicate=False, test_cases=counts["test_cases"])


def uses_staging(upload: Upload) -> bool:
    """On PostgreSQL, reports from QUALITYGOV_JUNIT_STAGED_BYTES up are settled in SQL (testing/ingest_staged.py),
    holding no record per test in the process; smaller ones, and every report on SQLite, are folded in memory.
    Both give the same results."""
    return connection.vendor == "postgresql" and upload.size >= settings.QUALITYGOV_JUNIT_STAGED_BYTES


def clean_run_params(revision: str, environment: str, run_name: str) -> tuple[str, str, str]:
    """The run's revision, environment and name as stored; DomainError naming the field when one is wrong."""
    revision = (revision or "").strip()
    run_name = (run_name or "").strip()
    environment = (environment or Environment.TEST).strip()
    if environment not in Environment.values:
        raise DomainError(
            f"Unknown environment '{environment}'; use one of: {', '.join(Environment.values)}.",
            field="environment",
        )
    if len(revision) > 100:
        raise DomainError("The revision is longer than 100 characters.", field="revision")
    if len(run_name) > 200:
        raise DomainError("The run name is longer than 200 characters.", field="run_name")
    return revision, environment, run_name


def existing_run(*, release: Release, revision: str, content_hash: str) -> TestRun | None:
    return _existing_run(release=release, revision=revision, content_hash=content_hash)


def _existing_run(*, release: Release, revision: str, content_hash: str) -> TestRun | None:
    return TestRun.objects.filter(release=release, revision=revision, content_hash=content_hash).first()


def _copy_text(value: str) -> str:
    """Escape a value for COPY's text format."""
    return (
        value.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\x00", "")
    )


def _write_results(*, run: TestRun, report: ParsedReport, case_ids: dict[str, int], finished_at) -> None:
    if not report.cases:
        return
    if connection.vendor == "postgresql":
        # COPY in batches, so the text sent is never the whole report at once (flat memory at any size).
        copy_sql = f"COPY testing_testresult ({', '.join(RESULT_COLUMNS)}) FROM STDIN WITH (FORMAT text)"
        prefix = f"{run.pk}\t{run.release_id}\t"
        stamp = finished_at.isoformat()
        buffer = io.StringIO()
        write = buffer.write
        rows = 0
        with connection.cursor() as cursor:
            for identity, c in report.cases.items():
                duration = "\\N" if c.duration is None or not math.isfinite(c.duration) else repr(c.duration)
                message = _copy_text(c.message) if c.message else ""
                details = _copy_text(c.details) if c.details else ""
                write(
                    f"{prefix}{case_ids[identity]}\t{c.status}\t{duration}\t{message}\t{details}\t"
                    f"{'t' if c.flaky else 'f'}\t{min(c.attempts, 32767)}\t{stamp}\t\t[]\n"
                )
                rows += 1
                if rows == COPY_BATCH:
                    buffer.seek(0)
                    cursor.copy_expert(copy_sql, buffer)
                    buffer = io.StringIO()
                    write = buffer.write
                    rows = 0
            if rows:
                buffer.seek(0)
                cursor.copy_expert(copy_sql, buffer)
        return
    TestResult.objects.bulk_create(
        [
            TestResult(
                run_id=run.pk,
                release_id=run.release_id,
                test_case_id=case_ids[identity],
                status=c.status,
                duration=c.duration,
                message=c.message,
                details=c.details,
                flaky=c.flaky,
                attempts=min(c.attempts, 32767),
                finished_at=finished_at,
            )
            for identity, c in report.cases.items()
        ],
        batch_size=BATCH,
    )


def _link_requirements(*, project_id: int, report: ParsedReport, case_ids: dict[str, int]) -> int:
    """Link test cases to the project's requirements named in properties or test names (with their link history).
    Returns the links made.

    Only keys that exist in the project count (case-insensitive); unknown keys are ignored.
    """
    known = {
        key.upper(): pk
        for key, pk in Requirement.objects.filter(project_id=project_id).values_list("key", "id")
    }
    if not known:
        return 0
    prefixes = {key.split("-", 1)[0].lower() for key in known if "-" in key}
    pairs: set[tuple[int, int]] = set()
    for identity, c in report.cases.items():
        keys = set(c.requirement_keys or ())
        if prefixes:
            text = f"{c.classname} {c.name}"
            lowered = text.lower()
            if any(p in lowered for p in prefixes):
                keys |= requirement_keys_in_name(text)
        for key in keys:
            req_id = known.get(key)
            if req_id is not None:
                pairs.add((case_ids[identity], req_id))
    if not pairs:
        return 0
    added, _ = links_change(add=pairs)
    return len(added)
