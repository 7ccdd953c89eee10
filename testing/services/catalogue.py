"""Requirements and test cases: create, change, delete, and linking test cases to requirements."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from qualitygov.errors import ConflictError, DomainError
from qualitygov.services import model_update
from releases.access import Action, authorize
from releases.models import Project, Release

from ..models import (
    Criticality,
    Requirement,
    TestCase,
    TestCaseKind,
)
from .common import REQUIREMENT_KEY, check_text, schedule_recompute
from .tracing import links_change, requirement_scope_set, testcase_links_set


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


def _checked_edit(
    data: dict[str, Any], *, title_length: int, choice: str, choices: list[str]
) -> dict[str, Any]:
    """A copy of an edit's fields with the title and component checked as on create, and the `choice` field one
    of `choices` (a DomainError on the field otherwise)."""
    data = dict(data)
    if "title" in data:
        data["title"] = check_text(data["title"], field="title", max_length=title_length, required=True)
    if "component" in data:
        data["component"] = check_text(data["component"], field="component", max_length=100)
    if choice in data and data[choice] not in choices:
        raise DomainError(f"{choice.capitalize()} must be one of {', '.join(choices)}.", field=choice)
    return data


def _rows_of_project(model, project_id: int, ids: Iterable[int], *, field: str, noun: str) -> list:
    """The rows with these ids, all of the project; a DomainError on `field` when one is unknown or another's."""
    wanted = {int(i) for i in ids}
    rows = list(model.objects.filter(project_id=project_id, pk__in=wanted))
    if len(rows) != len(wanted):
        raise DomainError(f"A {noun} is unknown or belongs to another project.", field=field)
    return rows


def _releases_of(project: Project, release_ids: Iterable[int]) -> list[Release]:
    return _rows_of_project(Release, project.pk, release_ids, field="releases", noun="release")


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
    authorize(by, project, Action.EDIT_TESTS)
    key = _clean_key(key)
    title = check_text(title, field="title", max_length=300, required=True)
    component = check_text(component, field="component", max_length=100)
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
            requirement_scope_set(requirement=requirement, release_ids=[r.pk for r in releases], by=by)
            schedule_recompute(release_ids=[r.pk for r in releases])
    return requirement


def requirement_update(*, requirement: Requirement, by, data: dict[str, Any]) -> Requirement:
    """Edit a requirement's fields; `release_ids` (if given) replaces its release scope."""
    authorize(by, requirement.project_id, Action.EDIT_TESTS)
    data = dict(data)
    if "key" in data:
        data["key"] = _clean_key(data["key"])
        clash = Requirement.objects.filter(project_id=requirement.project_id, key=data["key"])
        if clash.exclude(pk=requirement.pk).exists():
            raise ConflictError(f"The project already has a requirement {data['key']}.", field="key")
    data = _checked_edit(data, title_length=300, choice="criticality", choices=Criticality.values)
    with transaction.atomic():
        model_update(
            instance=requirement,
            fields=["key", "title", "description", "criticality", "component"],
            data=data,
        )
        if "release_ids" in data and data["release_ids"] is not None:
            releases = _releases_of(requirement.project, data["release_ids"])
            changed = requirement_scope_set(
                requirement=requirement, release_ids=[r.pk for r in releases], by=by
            )
            if changed:
                schedule_recompute(release_ids=changed)
    return requirement


def requirement_delete(*, requirement: Requirement, by) -> None:
    """Delete a requirement (its links to test cases, releases and defects go with it)."""
    authorize(by, requirement.project_id, Action.EDIT_TESTS)
    with transaction.atomic():
        release_ids = set(requirement.releases.values_list("pk", flat=True))
        requirement.delete()
        if release_ids:
            schedule_recompute(release_ids=release_ids)


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
    return _rows_of_project(
        Requirement, project_id, requirement_ids, field="requirements", noun="requirement"
    )


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
    authorize(by, project, Action.EDIT_TESTS)
    title = check_text(title, field="title", max_length=500, required=True)
    if kind not in TestCaseKind.values:
        raise DomainError(f"Kind must be one of {', '.join(TestCaseKind.values)}.", field="kind")
    steps = _clean_steps(list(steps) if isinstance(steps, tuple) else steps)
    requirements = _requirements_of(project.pk, requirement_ids)
    with transaction.atomic():
        case = TestCase.objects.create(
            project=project,
            title=title,
            kind=kind,
            suite=check_text(suite, field="suite", max_length=500),
            name=check_text(name, field="name", max_length=500),
            component=check_text(component, field="component", max_length=100),
            preconditions=preconditions or "",
            steps=steps,
        )
        if requirements:
            testcase_links_set(test_case=case, requirement_ids=[r.pk for r in requirements], by=by)
            schedule_recompute(release_ids=_scoped_release_ids(r.pk for r in requirements))
    return case


def testcase_update(*, test_case: TestCase, by, data: dict[str, Any]) -> TestCase:
    """Edit a test case; `requirement_ids` (if given) replaces its requirement links."""
    authorize(by, test_case.project_id, Action.EDIT_TESTS)
    data = _checked_edit(data, title_length=500, choice="kind", choices=TestCaseKind.values)
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
            changed = testcase_links_set(
                test_case=test_case, requirement_ids=[r.pk for r in requirements], by=by
            )
            schedule_recompute(release_ids=_scoped_release_ids(changed))
    return test_case


def testcase_delete(*, test_case: TestCase, by) -> None:
    """Delete a test case with its results (evidence of every release it ran in changes)."""
    authorize(by, test_case.project_id, Action.EDIT_TESTS)
    with transaction.atomic():
        release_ids = set(test_case.results.values_list("release_id", flat=True).distinct())
        release_ids |= _scoped_release_ids(test_case.requirements.values_list("pk", flat=True))
        test_case.delete()
        if release_ids:
            schedule_recompute(release_ids=release_ids)


def _scoped_release_ids(requirement_ids: Iterable[int]) -> set[int]:
    ids = list(requirement_ids)
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
    authorize(by, project, Action.EDIT_TESTS)
    case_ids = {int(i) for i in test_case_ids}
    if not case_ids:
        raise DomainError("Select at least one test case.", field="test_cases")
    requirements = _requirements_of(project.pk, requirement_ids)
    if not requirements:
        raise DomainError("Select at least one requirement.", field="requirements")
    found = set(TestCase.objects.filter(project=project, pk__in=case_ids).values_list("pk", flat=True))
    if found != case_ids:
        raise DomainError("A test case is unknown or belongs to another project.", field="test_cases")
    pairs = [(c, r.pk) for c in sorted(case_ids) for r in requirements]
    with transaction.atomic():
        added, removed = links_change(add=() if unlink else pairs, remove=pairs if unlink else (), by=by)
        changed = len(added | removed)
        if changed:
            schedule_recompute(release_ids=_scoped_release_ids(r.pk for r in requirements))
    return changed
