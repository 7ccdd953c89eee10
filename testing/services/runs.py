"""Manual runs: create a run, record results (with step results), complete it; file a defect from a failed result."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from defects.models import Environment, Priority, Severity
from qualitygov.errors import ConflictError, DomainError
from releases.access import Action, authorize
from releases.models import Release

from ..models import (
    ResultStatus,
    RunSource,
    RunStatus,
    TestCase,
    TestResult,
    TestRun,
)
from .common import FAILING_STATUSES, MANUAL_STATUSES, MAX_RUN_CASES, check_text, schedule_recompute


def manual_run_create(
    *,
    release: Release,
    by,
    test_case_ids: Iterable[int],
    name: str = "",
    environment: str = Environment.TEST,
) -> TestRun:
    """Plan a manual run of the release over the selected test cases (of the release's project)."""
    authorize(by, release.project_id, Action.EXECUTE_TESTS)
    ids = {int(i) for i in test_case_ids}
    if not ids:
        raise DomainError("Select at least one test case for the run.", field="test_cases")
    if len(ids) > MAX_RUN_CASES:
        raise DomainError(f"A manual run holds at most {MAX_RUN_CASES} test cases.", field="test_cases")
    if environment not in Environment.values:
        raise DomainError(f"Environment must be one of {', '.join(Environment.values)}.", field="environment")
    found = set(
        TestCase.objects.filter(project_id=release.project_id, pk__in=ids).values_list("pk", flat=True)
    )
    if found != ids:
        raise DomainError("A test case is unknown or belongs to another project.", field="test_cases")
    name = check_text(name, field="name", max_length=200) or f"Manual run {timezone.now():%Y-%m-%d %H:%M}"
    with transaction.atomic():
        run = TestRun.objects.create(
            release=release,
            name=name,
            environment=environment,
            source=RunSource.MANUAL,
            status=RunStatus.IN_PROGRESS,
            started_at=timezone.now(),
            created_by=by,
            tests=len(ids),
        )
        run.planned_cases.set(sorted(ids))
    return run


def _refresh_counts(run: TestRun) -> None:
    """Recount a manual run's results (one aggregate) and store the counts on the run."""
    agg = run.results.aggregate(
        passed=Count("id", filter=Q(status=ResultStatus.PASSED)),
        failed=Count("id", filter=Q(status=ResultStatus.FAILED)),
        errors=Count("id", filter=Q(status=ResultStatus.ERROR)),
        skipped=Count("id", filter=Q(status=ResultStatus.SKIPPED)),
        blocked=Count("id", filter=Q(status=ResultStatus.BLOCKED)),
    )
    for key, value in agg.items():
        setattr(run, key, value)
    run.save(update_fields=list(agg))


def _derive_status(step_results: list[dict[str, str]]) -> str:
    """The case's outcome from its steps: a failed or blocked step decides it (the steps after it may stay
    empty, not run); otherwise every step needs an outcome ("" when one is missing)."""
    statuses = {s["status"] for s in step_results}
    for status in (ResultStatus.FAILED, ResultStatus.BLOCKED):
        if status in statuses:
            return status
    if statuses == {ResultStatus.PASSED}:
        return ResultStatus.PASSED
    return ResultStatus.SKIPPED if statuses == {ResultStatus.SKIPPED} else ""


def manual_result_record(
    *,
    run: TestRun,
    test_case: TestCase,
    by,
    status: str = "",
    comment: str = "",
    step_results: Iterable[dict[str, Any]] | None = None,
) -> TestResult:
    """Record (or re-record) the outcome of one planned test case in an in-progress manual run.

    status is passed / failed / blocked / skipped; with per-step outcomes and no status, the status is
    derived from the steps (any failed -> failed, any blocked -> blocked, all passed -> passed). Updates the
    run's counts and schedules a metric recompute for the release.
    """
    authorize(by, run.release.project_id, Action.EXECUTE_TESTS)
    if run.source != RunSource.MANUAL:
        raise DomainError("Results of CI runs come from their report; record results in a manual run.")
    if run.status != RunStatus.IN_PROGRESS:
        raise ConflictError("This run is completed; its results can no longer change.", field="run")
    steps_in = list(step_results or [])
    cleaned_steps: list[dict[str, str]] = []
    if steps_in:
        if len(steps_in) != len(test_case.steps):
            raise DomainError(
                f"This test case has {len(test_case.steps)} steps; got {len(steps_in)} step results.",
                field="step_results",
            )
        for i, step in enumerate(steps_in, start=1):
            step_status = str((step or {}).get("status") or "").strip()
            if step_status and step_status not in MANUAL_STATUSES:
                raise DomainError(
                    f"Step {i}: status must be one of {', '.join(MANUAL_STATUSES)} (or empty: not run).",
                    field="step_results",
                )
            cleaned_steps.append({"status": step_status, "comment": str(step.get("comment") or "")[:2000]})
    status = (status or "").strip() or (_derive_status(cleaned_steps) if cleaned_steps else "")
    if not status and any(not s["status"] for s in cleaned_steps):
        missing = [str(i) for i, s in enumerate(cleaned_steps, start=1) if not s["status"]]
        raise DomainError(
            f"Step{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"{'have' if len(missing) > 1 else 'has'} no outcome: give {'them' if len(missing) > 1 else 'it'} "
            "or choose the overall outcome.",
            field="status",
        )
    if status not in MANUAL_STATUSES:
        raise DomainError(f"Status must be one of {', '.join(MANUAL_STATUSES)}.", field="status")
    comment = (comment or "").strip()
    if len(comment) > 5000:
        raise DomainError("The comment is longer than 5000 characters.", field="comment")
    with transaction.atomic():
        run = TestRun.objects.select_for_update().select_related("release").get(pk=run.pk)
        if not run.planned_cases.filter(pk=test_case.pk).exists():
            raise DomainError("This test case is not part of the run.", field="test_case")
        now = timezone.now()
        result, _ = TestResult.objects.update_or_create(
            run=run,
            test_case=test_case,
            defaults={
                "release_id": run.release_id,
                "status": status,
                "comment": comment,
                "message": comment[:2000] if status in FAILING_STATUSES else "",
                "step_results": cleaned_steps,
                "finished_at": now,
                "executed_by": by,
            },
        )
        _refresh_counts(run)
        schedule_recompute(release_ids=[run.release_id])
    return result


def manual_run_complete(*, run: TestRun, by) -> TestRun:
    """Close a manual run: its results become final evidence. Planned cases left unexecuted stay without result."""
    authorize(by, run.release.project_id, Action.EXECUTE_TESTS)
    if run.source != RunSource.MANUAL:
        raise DomainError("Only manual runs are completed by hand.")
    with transaction.atomic():
        run = TestRun.objects.select_for_update().get(pk=run.pk)
        if run.status == RunStatus.COMPLETED:
            raise ConflictError("This run is already completed.", field="run")
        run.status = RunStatus.COMPLETED
        run.finished_at = max(timezone.now(), run.started_at)
        run.save(update_fields=["status", "finished_at"])
        schedule_recompute(release_ids=[run.release_id])
    return run


def defect_title_for(result: TestResult) -> str:
    return f"{result.test_case.title} {result.get_status_display().lower()}"[:300]


def defect_description_for(result: TestResult) -> str:
    """A prefilled defect description: what failed, where, and the evidence (as plain text)."""
    run = result.run
    lines = [
        f"Test case: {result.test_case.title}",
        f"Run: {run.name or run.pk} ({run.get_source_display()}, {run.environment}) of release {run.release}",
        f"Outcome: {result.status}",
    ]
    if result.comment:
        lines += ["", "Tester's comment:", result.comment]
    if result.message and result.message != result.comment:
        lines += ["", "Message:", result.message]
    steps = result.test_case.steps or []
    for i, (step, outcome) in enumerate(zip(steps, result.step_results or [], strict=False), start=1):
        if outcome.get("status") in FAILING_STATUSES:
            lines += [
                "",
                f"Step {i} {outcome['status']}: {step.get('action', '')}",
                f"Expected: {step.get('expected', '')}",
            ]
            if outcome.get("comment"):
                lines.append(f"Observed: {outcome['comment']}")
    if result.details:
        lines += ["", "Details:", result.details[:2000]]
    return "\n".join(lines)


def defect_file_from_result(
    *,
    result: TestResult,
    by,
    title: str = "",
    severity: str = Severity.MAJOR,
    description: str = "",
    priority: str = "",
    component: str | None = None,
) -> tuple[Any, bool]:
    """File a defect from a failed, errored or blocked result, linked to the result, its test case and the
    test case's requirements, found in the run's release and environment.

    Idempotent: the result row is locked and, when a defect is already linked to it, that defect is returned
    with created=False (a second click or a retried request never files a twin). Returns (defect, created).
    """
    from defects.services import defect_create

    release = result.release
    authorize(by, release.project_id, Action.EDIT_DEFECTS)
    if result.status not in FAILING_STATUSES:
        raise DomainError(
            "Only a failed, errored or blocked result can be filed as a defect.", field="result"
        )
    test_case = result.test_case
    with transaction.atomic():
        TestResult.objects.select_for_update().filter(pk=result.pk).first()
        existing = result.defects.order_by("pk").first()
        if existing is not None:
            return existing, False
        defect = defect_create(
            project=release.project,
            title=(title or "").strip() or defect_title_for(result),
            by=by,
            description=description or defect_description_for(result),
            severity=severity or Severity.MAJOR,
            priority=priority or Priority.MEDIUM,
            component=test_case.component if component is None else component,
            found_in_release=release,
            found_in_environment=result.run.environment,
            requirements=list(test_case.requirements.all()),
            test_cases=[test_case],
            test_results=[result],
        )
    return defect, True
