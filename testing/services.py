"""Writes for requirements, test cases, manual runs and their results. JUnit ingestion lives in ingest.py."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from defects.models import Environment, Severity
from qualitygov.errors import ConflictError, DomainError
from qualitygov.services import model_update
from releases.access import Action, require
from releases.models import Project, Release

from .models import (
    Criticality,
    Requirement,
    ResultStatus,
    RunSource,
    RunStatus,
    TestCase,
    TestCaseKind,
    TestResult,
    TestRun,
)

REQUIREMENT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*-?[A-Za-z0-9_.-]*$")
MANUAL_STATUSES = (ResultStatus.PASSED, ResultStatus.FAILED, ResultStatus.BLOCKED, ResultStatus.SKIPPED)
FAILING_STATUSES = (ResultStatus.FAILED, ResultStatus.ERROR, ResultStatus.BLOCKED)
MAX_RUN_CASES = 5000


def _schedule_recompute(*, release_ids: Iterable[int]) -> None:
    from metrics.services import schedule_recompute

    schedule_recompute(release_ids=list(release_ids))


# --- requirements -------------------------------------------------------------------------------------


def _clean_key(key: str) -> str:
    key = (key or "").strip().upper()
    if not key:
        raise DomainError("A requirement needs a key such as REQ-12.", field="key")
    if len(key) > 40 or not REQUIREMENT_KEY.match(key):
        raise DomainError(
            "A requirement key is up to 40 letters, digits, '-', '_' or '.', starting with a letter (REQ-12).",
            field="key",
        )
    return key


def _check_text(value: str, *, field: str, max_length: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(f"The {field.replace('_', ' ')} is required.", field=field)
    if len(value) > max_length:
        raise DomainError(
            f"The {field.replace('_', ' ')} is longer than {max_length} characters.", field=field
        )
    return value


def _releases_of(project: Project, release_ids: Iterable[int]) -> list[Release]:
    ids = {int(i) for i in release_ids}
    releases = list(Release.objects.filter(project=project, pk__in=ids))
    if len(releases) != len(ids):
        raise DomainError("A release is unknown or belongs to another project.", field="releases")
    return releases


def requirement_create(
    *,
    project: Project,
    key: str,
    title: str,
    by,
    description: str = "",
    criticality: str = Criticality.MEDIUM,
    component: str = "",
    release_ids: Iterable[int] = (),
) -> Requirement:
    """Create a requirement (key unique in the project, upper-cased) and put it in the given releases' scope."""
    require(by, project, Action.EDIT_TESTS)
    key = _clean_key(key)
    title = _check_text(title, field="title", max_length=300, required=True)
    component = _check_text(component, field="component", max_length=100)
    if criticality not in Criticality.values:
        raise DomainError(f"Criticality must be one of {', '.join(Criticality.values)}.", field="criticality")
    releases = _releases_of(project, release_ids)
    with transaction.atomic():
        if Requirement.objects.filter(project=project, key=key).exists():
            raise ConflictError(f"{project.key} already has a requirement {key}.", field="key")
        requirement = Requirement.objects.create(
            project=project,
            key=key,
            title=title,
            description=description or "",
            criticality=criticality,
            component=component,
        )
        if releases:
            requirement.releases.set(releases)
            _schedule_recompute(release_ids=[r.pk for r in releases])
    return requirement


def requirement_update(*, requirement: Requirement, by, data: dict[str, Any]) -> Requirement:
    """Edit a requirement's fields; `release_ids` (if given) replaces its release scope."""
    require(by, requirement.project_id, Action.EDIT_TESTS)
    data = dict(data)
    if "key" in data:
        data["key"] = _clean_key(data["key"])
        clash = Requirement.objects.filter(project_id=requirement.project_id, key=data["key"])
        if clash.exclude(pk=requirement.pk).exists():
            raise ConflictError(f"The project already has a requirement {data['key']}.", field="key")
    if "title" in data:
        data["title"] = _check_text(data["title"], field="title", max_length=300, required=True)
    if "component" in data:
        data["component"] = _check_text(data["component"], field="component", max_length=100)
    if "criticality" in data and data["criticality"] not in Criticality.values:
        raise DomainError(f"Criticality must be one of {', '.join(Criticality.values)}.", field="criticality")
    with transaction.atomic():
        model_update(
            instance=requirement,
            fields=["key", "title", "description", "criticality", "component"],
            data=data,
        )
        if "release_ids" in data and data["release_ids"] is not None:
            releases = _releases_of(requirement.project, data["release_ids"])
            before = set(requirement.releases.values_list("pk", flat=True))
            requirement.releases.set(releases)
            changed = before ^ {r.pk for r in releases}
            if changed:
                _schedule_recompute(release_ids=changed)
    return requirement


def requirement_delete(*, requirement: Requirement, by) -> None:
    """Delete a requirement (its links to test cases, releases and defects go with it)."""
    require(by, requirement.project_id, Action.EDIT_TESTS)
    with transaction.atomic():
        release_ids = set(requirement.releases.values_list("pk", flat=True))
        requirement.delete()
        if release_ids:
            _schedule_recompute(release_ids=release_ids)


# --- test cases -----------------------------------------------------------------------------------------


def _clean_steps(steps: Any) -> list[dict[str, str]]:
    if steps in (None, ""):
        return []
    if not isinstance(steps, list | tuple):
        raise DomainError("Steps must be a list of {action, expected}.", field="steps")
    cleaned = []
    for i, step in enumerate(steps, start=1):
        if isinstance(step, str):
            step = {"action": step, "expected": ""}
        if not isinstance(step, dict):
            raise DomainError(f"Step {i} must be an object with 'action' and 'expected'.", field="steps")
        action = str(step.get("action") or "").strip()
        expected = str(step.get("expected") or "").strip()
        if not action:
            raise DomainError(f"Step {i} needs an action.", field="steps")
        if len(action) > 2000 or len(expected) > 2000:
            raise DomainError(f"Step {i} is longer than 2000 characters.", field="steps")
        cleaned.append({"action": action, "expected": expected})
    if len(cleaned) > 200:
        raise DomainError("A test case has at most 200 steps.", field="steps")
    return cleaned


def _requirements_of(project_id: int, requirement_ids: Iterable[int]) -> list[Requirement]:
    ids = {int(i) for i in requirement_ids}
    found = list(Requirement.objects.filter(project_id=project_id, pk__in=ids))
    if len(found) != len(ids):
        raise DomainError("A requirement is unknown or belongs to another project.", field="requirements")
    return found


def testcase_create(
    *,
    project: Project,
    title: str,
    by,
    kind: str = TestCaseKind.MANUAL,
    suite: str = "",
    name: str = "",
    component: str = "",
    preconditions: str = "",
    steps: Any = (),
    requirement_ids: Iterable[int] = (),
) -> TestCase:
    """Create a test case (manual ones may carry steps) linked to requirements of the same project."""
    require(by, project, Action.EDIT_TESTS)
    title = _check_text(title, field="title", max_length=500, required=True)
    if kind not in TestCaseKind.values:
        raise DomainError(f"Kind must be one of {', '.join(TestCaseKind.values)}.", field="kind")
    steps = _clean_steps(list(steps) if isinstance(steps, tuple) else steps)
    requirements = _requirements_of(project.pk, requirement_ids)
    with transaction.atomic():
        case = TestCase.objects.create(
            project=project,
            title=title,
            kind=kind,
            suite=_check_text(suite, field="suite", max_length=500),
            name=_check_text(name, field="name", max_length=500),
            component=_check_text(component, field="component", max_length=100),
            preconditions=preconditions or "",
            steps=steps,
        )
        if requirements:
            case.requirements.set(requirements)
            _schedule_recompute(release_ids=_scoped_release_ids(requirements))
    return case


def testcase_update(*, test_case: TestCase, by, data: dict[str, Any]) -> TestCase:
    """Edit a test case; `requirement_ids` (if given) replaces its requirement links."""
    require(by, test_case.project_id, Action.EDIT_TESTS)
    data = dict(data)
    if "title" in data:
        data["title"] = _check_text(data["title"], field="title", max_length=500, required=True)
    if "component" in data:
        data["component"] = _check_text(data["component"], field="component", max_length=100)
    if "kind" in data and data["kind"] not in TestCaseKind.values:
        raise DomainError(f"Kind must be one of {', '.join(TestCaseKind.values)}.", field="kind")
    if "steps" in data:
        data["steps"] = _clean_steps(data["steps"])
    with transaction.atomic():
        model_update(
            instance=test_case,
            fields=["title", "kind", "suite", "name", "component", "preconditions", "steps"],
            data=data,
        )
        if data.get("requirement_ids") is not None:
            requirements = _requirements_of(test_case.project_id, data["requirement_ids"])
            before = list(test_case.requirements.all())
            test_case.requirements.set(requirements)
            _schedule_recompute(release_ids=_scoped_release_ids([*before, *requirements]))
    return test_case


def testcase_delete(*, test_case: TestCase, by) -> None:
    """Delete a test case with its results (evidence of every release it ran in changes)."""
    require(by, test_case.project_id, Action.EDIT_TESTS)
    with transaction.atomic():
        release_ids = set(test_case.results.values_list("release_id", flat=True).distinct())
        release_ids |= _scoped_release_ids(test_case.requirements.all())
        test_case.delete()
        if release_ids:
            _schedule_recompute(release_ids=release_ids)


def _scoped_release_ids(requirements: Iterable[Requirement]) -> set[int]:
    ids = [r.pk for r in requirements]
    if not ids:
        return set()
    return set(
        Requirement.releases.through.objects.filter(requirement_id__in=ids).values_list(
            "release_id", flat=True
        )
    )


def testcases_link_requirements(
    *,
    project: Project,
    by,
    test_case_ids: Iterable[int],
    requirement_ids: Iterable[int],
    unlink: bool = False,
) -> int:
    """Bulk-link (or unlink) every given test case to every given requirement. Returns the links added/removed."""
    require(by, project, Action.EDIT_TESTS)
    case_ids = {int(i) for i in test_case_ids}
    if not case_ids:
        raise DomainError("Select at least one test case.", field="test_cases")
    requirements = _requirements_of(project.pk, requirement_ids)
    if not requirements:
        raise DomainError("Select at least one requirement.", field="requirements")
    found = set(TestCase.objects.filter(project=project, pk__in=case_ids).values_list("pk", flat=True))
    if found != case_ids:
        raise DomainError("A test case is unknown or belongs to another project.", field="test_cases")
    through = TestCase.requirements.through
    with transaction.atomic():
        if unlink:
            changed, _ = through.objects.filter(
                testcase_id__in=case_ids, requirement_id__in=[r.pk for r in requirements]
            ).delete()
        else:
            existing = set(
                through.objects.filter(
                    testcase_id__in=case_ids, requirement_id__in=[r.pk for r in requirements]
                ).values_list("testcase_id", "requirement_id")
            )
            new = [
                through(testcase_id=c, requirement_id=r.pk)
                for c in sorted(case_ids)
                for r in requirements
                if (c, r.pk) not in existing
            ]
            through.objects.bulk_create(new, ignore_conflicts=True)
            changed = len(new)
        if changed:
            _schedule_recompute(release_ids=_scoped_release_ids(requirements))
    return changed


# --- manual runs ----------------------------------------------------------------------------------------


def manual_run_create(
    *,
    release: Release,
    by,
    test_case_ids: Iterable[int],
    name: str = "",
    environment: str = Environment.TEST,
) -> TestRun:
    """Plan a manual run of the release over the selected test cases (of the release's project)."""
    require(by, release.project_id, Action.EXECUTE_TESTS)
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
    name = _check_text(name, field="name", max_length=200) or f"Manual run {timezone.now():%Y-%m-%d %H:%M}"
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
    require(by, run.release.project_id, Action.EXECUTE_TESTS)
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
            if step_status not in MANUAL_STATUSES:
                raise DomainError(
                    f"Step {i}: status must be one of {', '.join(MANUAL_STATUSES)}.", field="step_results"
                )
            cleaned_steps.append({"status": step_status, "comment": str(step.get("comment") or "")[:2000]})
    status = (status or "").strip() or (_derive_status(cleaned_steps) if cleaned_steps else "")
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
        _schedule_recompute(release_ids=[run.release_id])
    return result


def manual_run_complete(*, run: TestRun, by) -> TestRun:
    """Close a manual run: its results become final evidence. Planned cases left unexecuted stay without result."""
    require(by, run.release.project_id, Action.EXECUTE_TESTS)
    if run.source != RunSource.MANUAL:
        raise DomainError("Only manual runs are completed by hand.")
    with transaction.atomic():
        run = TestRun.objects.select_for_update().get(pk=run.pk)
        if run.status == RunStatus.COMPLETED:
            raise ConflictError("This run is already completed.", field="run")
        run.status = RunStatus.COMPLETED
        run.finished_at = max(timezone.now(), run.started_at)
        run.save(update_fields=["status", "finished_at"])
        _schedule_recompute(release_ids=[run.release_id])
    return run


# --- defects from failures ------------------------------------------------------------------------------


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
):
    """File a defect from a failed, errored or blocked result, linked to the result, its test case and the
    test case's requirements, found in the run's release and environment."""
    from defects.services import defect_create

    release = result.release
    require(by, release.project_id, Action.EDIT_DEFECTS)
    if result.status not in FAILING_STATUSES:
        raise DomainError(
            "Only a failed, errored or blocked result can be filed as a defect.", field="result"
        )
    test_case = result.test_case
    return defect_create(
        project=release.project,
        title=(title or "").strip() or defect_title_for(result),
        by=by,
        description=description or defect_description_for(result),
        severity=severity,
        component=test_case.component,
        found_in_release=release,
        found_in_environment=result.run.environment,
        requirements=list(test_case.requirements.all()),
        test_cases=[test_case],
        test_results=[result],
    )
