"""Create a defect and move it through its lifecycle (transitions, marking a duplicate), with its history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from qualitygov.errors import ConflictError, DomainError
from releases.access import Action, authorize
from releases.models import Project, Release

from .. import notices
from ..models import (
    ALLOWED_TRANSITIONS,
    OPEN_STATUSES,
    RESOLVED_STATUSES,
    STATUSES_NEEDING_RESOLUTION,
    Defect,
    DefectStatus,
    DefectTransition,
    Environment,
    Priority,
    Resolution,
    Severity,
)
from .common import (
    TITLE_MAX,
    check_assignee,
    check_backdate,
    check_choice,
    check_release,
    check_version,
    choice_label,
    lock_defect,
    recompute_for,
)


def defect_create(
    *,
    project: Project,
    title: str,
    by,
    description: str = "",
    severity: str = Severity.MAJOR,
    priority: str = Priority.MEDIUM,
    component: str = "",
    found_in_release: Release | None = None,
    found_in_environment: str = Environment.TEST,
    assignee=None,
    created_at: dt.datetime | None = None,
    external_id: str = "",
    fixed_in_release: Release | None = None,
    requirements: Iterable = (),
    test_cases: Iterable = (),
    test_results: Iterable = (),
) -> Defect:
    """Create a defect with its creation transition ('' -> new), the next number and key of the project.

    `created_at` in the past is for importers (Action.IMPORT) and never in the future. Links to
    requirements, test cases and test results must stay inside the project. Schedules a recompute.
    `by` needs Action.EDIT_DEFECTS in the project (None: the system).
    """
    authorize(by, project, Action.EDIT_DEFECTS)
    title = (title or "").strip()
    if not title:
        raise DomainError("A defect needs a title.", field="title")
    if len(title) > TITLE_MAX:
        raise DomainError(f"The title is longer than {TITLE_MAX} characters.", field="title")
    check_choice(severity, Severity, field="severity")
    check_choice(priority, Priority, field="priority")
    check_choice(found_in_environment, Environment, field="found_in_environment")
    check_release(found_in_release, project, field="found_in_release")
    check_release(fixed_in_release, project, field="fixed_in_release")
    check_assignee(assignee, project)
    external_id = (external_id or "").strip()
    if created_at is not None:
        check_backdate(when=created_at, by=by, project_id=project.pk, field="created_at")
    requirements, test_cases, test_results = list(requirements), list(test_cases), list(test_results)
    for item, label in [(r, "requirement") for r in requirements] + [(t, "test case") for t in test_cases]:
        if item.project_id != project.pk:
            raise DomainError(
                f"No {label} with id {item.pk} in this project.", field=f"{label.replace(' ', '_')}s"
            )
    if any(r.release.project_id != project.pk for r in test_results):
        raise DomainError("A linked test result belongs to another project.", field="test_results")

    when = created_at or timezone.now()
    with transaction.atomic():
        # Serialise numbering per project: the project row is the lock.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        if external_id and Defect.objects.filter(project=project, external_id=external_id).exists():
            raise ConflictError(
                f"A defect with external id '{external_id}' already exists in {project.key}.",
                field="external_id",
            )
        number = (Defect.objects.filter(project=project).aggregate(m=Max("number"))["m"] or 0) + 1
        defect = Defect(
            project=project,
            number=number,
            key=f"{project.key}-{number}",
            external_id=external_id,
            title=title,
            description=description or "",
            severity=severity,
            priority=priority,
            component=(component or "").strip(),
            found_in_release=found_in_release,
            found_in_environment=found_in_environment,
            fixed_in_release=fixed_in_release,
            assignee=assignee,
            reporter=by,
            created_at=when,
        )
        try:
            with transaction.atomic():
                defect.save()
        except IntegrityError as exc:
            raise ConflictError(
                f"Could not create the defect: {exc.__class__.__name__} (key taken?)."
            ) from exc
        DefectTransition.objects.create(
            defect=defect, from_status="", to_status=DefectStatus.NEW, at=when, by=by
        )
        if requirements:
            defect.requirements.add(*requirements)
        if test_cases:
            defect.test_cases.add(*test_cases)
        if test_results:
            defect.test_results.add(*test_results)
        recompute_for(defect)
        if created_at is None:  # an import tells nobody
            notices.defect_assigned(defect=defect, assignee=assignee, by=by)
    return defect


def _validate_move(
    *, defect: Defect, to: str, resolution: str, duplicate_of: Defect | None
) -> tuple[str, Defect | None]:
    """Check a move against the contract's table; return the resolution and duplicate the defect will carry."""
    if to not in DefectStatus.values:
        raise DomainError(
            f"'{to}' is not a defect state. States: {', '.join(DefectStatus.values)}.", field="to"
        )
    allowed = ALLOWED_TRANSITIONS.get(defect.status, ())
    if to not in allowed:
        raise DomainError(
            f"{defect.key} cannot move from {choice_label(DefectStatus, defect.status)} to "
            f"{choice_label(DefectStatus, to)}. "
            f"Allowed next states: {', '.join(choice_label(DefectStatus, s) for s in allowed) or 'none'}.",
            field="to",
            code="illegal_transition",
            details={"allowed": list(allowed)},
        )
    if to in STATUSES_NEEDING_RESOLUTION:
        if not resolution and defect.resolution:
            # Closing a verified defect keeps the resolution it was resolved with.
            resolution = defect.resolution
        if not resolution:
            raise DomainError(
                f"Moving to {choice_label(DefectStatus, to)} needs a resolution: {', '.join(Resolution.labels)}.",
                field="resolution",
            )
        check_choice(resolution, Resolution, field="resolution")
    elif resolution and to in OPEN_STATUSES:
        raise DomainError(
            "A resolution is only given when resolving or closing, not when moving to "
            f"{choice_label(DefectStatus, to)}.",
            field="resolution",
        )
    elif to == DefectStatus.VERIFIED:
        if resolution and resolution != defect.resolution:
            raise DomainError("Verifying keeps the resolution given when resolving.", field="resolution")
        resolution = defect.resolution
    if to in OPEN_STATUSES:
        return "", None  # reopening clears resolution and duplicate link
    if duplicate_of is not None:
        if resolution != Resolution.DUPLICATE:
            raise DomainError("'duplicate_of' goes with the resolution 'duplicate'.", field="duplicate_of")
        _check_original(defect=defect, original=duplicate_of)
    elif resolution == Resolution.DUPLICATE and defect.resolution == Resolution.DUPLICATE:
        duplicate_of = defect.duplicate_of  # verifying or closing keeps the link
    return resolution, duplicate_of


def _check_original(*, defect: Defect, original: Defect) -> None:
    if original.pk == defect.pk:
        raise DomainError("A defect cannot be a duplicate of itself.", field="duplicate_of")
    if original.project_id != defect.project_id:
        raise DomainError("No such defect.", field="duplicate_of")
    # Follow the original's own duplicate chain (bounded) so no cycle is ever created.
    seen, current = {original.pk}, original.duplicate_of_id
    while current and len(seen) < 50:
        if current == defect.pk:
            raise DomainError(
                f"{original.key} is already (via its duplicate links) a duplicate of {defect.key}.",
                field="duplicate_of",
            )
        seen.add(current)
        current = Defect.objects.filter(pk=current).values_list("duplicate_of_id", flat=True).first()


def defect_transition(
    *,
    defect: Defect,
    to: str,
    by,
    resolution: str = "",
    comment: str = "",
    at: dt.datetime | None = None,
    expected_version: int | None = None,
    duplicate_of: Defect | None = None,
) -> DefectTransition:
    """Move a defect to another state, storing the move as a transition row.

    Refuses moves outside ALLOWED_TRANSITIONS (naming the allowed next states), a missing resolution
    for resolved/closed, a stale `expected_version` (ConflictError, 409), and an `at` in the future,
    before the previous move or before the creation; an `at` in the past needs Action.IMPORT.
    Reopening clears the resolution and the duplicate link. Holds the defect's row lock while it works.
    `by` needs Action.EDIT_DEFECTS (None: the system, e.g. a regression reopening its defect).
    """
    authorize(by, defect.project_id, Action.EDIT_DEFECTS)
    with transaction.atomic():
        locked = lock_defect(defect)
        check_version(locked, expected_version)
        resolution, duplicate_of = _validate_move(
            defect=locked, to=to, resolution=(resolution or "").strip(), duplicate_of=duplicate_of
        )
        last_at = locked.transitions.aggregate(m=Max("at"))["m"]
        if at is not None:
            check_backdate(when=at, by=by, project_id=locked.project_id, field="at")
            if at < locked.created_at:
                raise DomainError(
                    f"'at' ({at.isoformat()}) is before the defect was created ({locked.created_at.isoformat()}).",
                    field="at",
                )
            if last_at and at < last_at:
                raise DomainError(
                    f"'at' ({at.isoformat()}) is before the previous move ({last_at.isoformat()}).",
                    field="at",
                )
        when = at or max(timezone.now(), last_at or locked.created_at)
        move = DefectTransition.objects.create(
            defect=locked,
            from_status=locked.status,
            to_status=to,
            resolution=resolution,
            at=when,
            by=by,
            comment=(comment or "").strip(),
        )
        locked.status = to
        locked.resolution = resolution
        locked.duplicate_of = duplicate_of
        locked.version = F("version") + 1
        locked.save(update_fields=["status", "resolution", "duplicate_of", "version", "updated_at"])
        locked.refresh_from_db(fields=["version"])
        recompute_for(locked)
        if to == DefectStatus.RESOLVED and at is None:  # a backdated (imported) move tells nobody
            notices.defect_resolved(defect=locked, by=by)
    # Keep the caller's object in step with the database.
    for name in ("status", "resolution", "duplicate_of_id", "version", "updated_at"):
        setattr(defect, name, getattr(locked, name))
    return move


def defect_mark_duplicate(
    *,
    defect: Defect,
    original: Defect,
    by,
    comment: str = "",
    expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> DefectTransition:
    """Resolve an open defect as a duplicate of `original` (resolution 'duplicate', duplicate_of set).

    A defect that is already resolved, verified or closed must be reopened first; the refusal says so.
    `by` needs Action.EDIT_DEFECTS.
    """
    authorize(by, defect.project_id, Action.EDIT_DEFECTS)
    if defect.status in RESOLVED_STATUSES:
        raise DomainError(
            f"{defect.key} is already {choice_label(DefectStatus, defect.status).lower()}; reopen it before marking it a "
            "duplicate.",
            field="status",
        )
    text = comment or f"Duplicate of {original.key}."
    return defect_transition(
        defect=defect,
        to=DefectStatus.RESOLVED,
        by=by,
        resolution=Resolution.DUPLICATE,
        comment=text,
        at=at,
        expected_version=expected_version,
        duplicate_of=original,
    )
