"""Writes to defects: create, move, edit, comment, mark duplicate, bulk actions.

Every function here records its own history (creation transition, move, field audit rows) and
schedules the metric recompute for the defect's releases and project, so no caller can forget either.
Moves and edits take a row lock on the defect (`select_for_update`) and bump `Defect.version`;
a caller that sends `expected_version` gets a ConflictError (HTTP 409) when someone else got there first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from qualitygov.errors import AccessDenied, ConflictError, DomainError
from releases.access import Action, can, has_role, role_of
from releases.models import Project, Release, Role

from .models import (
    ALLOWED_TRANSITIONS,
    OPEN_STATUSES,
    RESOLVED_STATUSES,
    STATUSES_NEEDING_RESOLUTION,
    Defect,
    DefectComment,
    DefectFieldChange,
    DefectStatus,
    DefectTransition,
    Environment,
    Priority,
    Resolution,
    Severity,
)

logger = logging.getLogger(__name__)
User = get_user_model()

TITLE_MAX = Defect._meta.get_field("title").max_length
MAX_BULK_ROWS = 1000

# While a bulk action runs, recompute requests are collected here and sent once at the end.
_pending_recompute: ContextVar[tuple[set[int], set[int]] | None] = ContextVar(
    "_pending_recompute", default=None
)


# --- recompute scheduling ---------------------------------------------------------------------------


def _schedule_recompute(
    *, release_ids: Iterable[int | None] = (), project_ids: Iterable[int | None] = ()
) -> None:
    """Ask the metrics app to recompute, or add to the batch when inside `_coalesced_recompute`."""
    releases = {r for r in release_ids if r}
    projects = {p for p in project_ids if p}
    if not releases and not projects:
        return
    pending = _pending_recompute.get()
    if pending is not None:
        pending[0].update(releases)
        pending[1].update(projects)
        return
    from metrics.services import schedule_recompute

    schedule_recompute(release_ids=tuple(sorted(releases)), project_ids=tuple(sorted(projects)))


@contextlib.contextmanager
def _coalesced_recompute() -> Iterator[tuple[set[int], set[int]]]:
    """Collect every recompute request made inside the block and schedule them as one call at the end."""
    if _pending_recompute.get() is not None:  # nested: the outer block sends
        yield _pending_recompute.get()
        return
    pending: tuple[set[int], set[int]] = (set(), set())
    token = _pending_recompute.set(pending)
    try:
        yield pending
    finally:
        _pending_recompute.reset(token)
    _schedule_recompute(release_ids=pending[0], project_ids=pending[1])


def _recompute_for(defect: Defect, *extra_release_ids: int | None) -> None:
    _schedule_recompute(
        release_ids=(defect.found_in_release_id, defect.fixed_in_release_id, *extra_release_ids),
        project_ids=(defect.project_id,),
    )


# --- validation helpers -----------------------------------------------------------------------------


def _label(choices, value: str) -> str:
    """The human label of a stored choice ("in_progress" -> "In progress"); the value itself if unknown."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _check_choice(value: str, choices, *, field: str) -> str:
    if value not in choices.values:
        raise DomainError(
            f"'{value}' is not a valid {field}. Choose one of: {', '.join(choices.values)}.", field=field
        )
    return value


def _check_backdate(*, when: dt.datetime, by, project_id: int, field: str) -> None:
    """A timestamp other than now: only for importers, never in the future."""
    if timezone.is_naive(when):
        raise DomainError(
            f"'{field}' must carry a time zone (for example 2024-05-01T10:00:00Z).", field=field
        )
    if when > timezone.now():
        raise DomainError(f"'{field}' ({when.isoformat()}) is in the future.", field=field)
    if by is not None and not can(by, project_id, Action.IMPORT):
        raise AccessDenied(
            f"Setting '{field}' to a past time is for users who may import (manager or admin); "
            f"your role is '{role_of(by, project_id) or 'none'}'.",
            field=field,
        )


def _check_release(release: Release | None, project: Project, *, field: str) -> None:
    if release is not None and release.project_id != project.pk:
        # The same words as for an unknown release: another project's release is not revealed.
        raise DomainError(f"No release {release.pk} in project {project.key}.", field=field)


def not_a_member_message(username: str) -> str:
    """One answer for an unknown username and for a user outside the project (no username oracle)."""
    return f"'{username}' is not a member of this project."


def may_be_assigned(user, project: Project) -> bool:
    return bool(user.is_superuser or role_of(user, project) is not None)


def _check_assignee(assignee, project: Project) -> None:
    if assignee is not None and not may_be_assigned(assignee, project):
        raise DomainError(not_a_member_message(assignee.get_username()), field="assignee")


def _check_version(defect: Defect, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != defect.version:
        raise ConflictError(
            f"{defect.key} was changed by someone else (you had version {expected_version}, "
            f"it is now {defect.version}). Reload it and try again.",
            field="expected_version",
        )


def _lock(defect: Defect) -> Defect:
    """Re-read the defect under a row lock. Must be called inside transaction.atomic."""
    try:
        return Defect.objects.select_for_update().get(pk=defect.pk)
    except Defect.DoesNotExist:
        raise DomainError("The defect no longer exists.") from None


# --- create -----------------------------------------------------------------------------------------


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
    """
    title = (title or "").strip()
    if not title:
        raise DomainError("A defect needs a title.", field="title")
    if len(title) > TITLE_MAX:
        raise DomainError(f"The title is longer than {TITLE_MAX} characters.", field="title")
    _check_choice(severity, Severity, field="severity")
    _check_choice(priority, Priority, field="priority")
    _check_choice(found_in_environment, Environment, field="found_in_environment")
    _check_release(found_in_release, project, field="found_in_release")
    _check_release(fixed_in_release, project, field="fixed_in_release")
    _check_assignee(assignee, project)
    external_id = (external_id or "").strip()
    if created_at is not None:
        _check_backdate(when=created_at, by=by, project_id=project.pk, field="created_at")
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
        _recompute_for(defect)
    return defect


# --- move -------------------------------------------------------------------------------------------


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
            f"{defect.key} cannot move from {_label(DefectStatus, defect.status)} to {_label(DefectStatus, to)}. "
            f"Allowed next states: {', '.join(_label(DefectStatus, s) for s in allowed) or 'none'}.",
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
                f"Moving to {_label(DefectStatus, to)} needs a resolution: {', '.join(Resolution.labels)}.",
                field="resolution",
            )
        _check_choice(resolution, Resolution, field="resolution")
    elif resolution and to in OPEN_STATUSES:
        raise DomainError(
            f"A resolution is only given when resolving or closing, not when moving to {_label(DefectStatus, to)}.",
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
    """
    with transaction.atomic():
        locked = _lock(defect)
        _check_version(locked, expected_version)
        resolution, duplicate_of = _validate_move(
            defect=locked, to=to, resolution=(resolution or "").strip(), duplicate_of=duplicate_of
        )
        last_at = locked.transitions.aggregate(m=Max("at"))["m"]
        if at is not None:
            _check_backdate(when=at, by=by, project_id=locked.project_id, field="at")
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
        _recompute_for(locked)
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
    """
    if defect.status in RESOLVED_STATUSES:
        raise DomainError(
            f"{defect.key} is already {_label(DefectStatus, defect.status).lower()}; reopen it before marking it a "
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


# --- edit and comment -------------------------------------------------------------------------------

EDITABLE_FIELDS = (
    "title",
    "description",
    "severity",
    "priority",
    "component",
    "assignee",
    "found_in_release",
    "found_in_environment",
    "fixed_in_release",
)


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, User):
        return value.get_username()
    if isinstance(value, Release):
        return value.version
    return str(value)


def defect_update(*, defect: Defect, by, data: dict[str, Any], expected_version: int | None = None) -> Defect:
    """Edit a defect's fields; each changed field gets an audit row (field, old, new, when, who).

    `data` maps names from EDITABLE_FIELDS to new values (model instances for assignee and releases).
    Unknown fields are refused. Bumps the version and schedules a recompute when anything changed.
    """
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise DomainError(f"These fields cannot be edited here: {', '.join(unknown)}.", field=unknown[0])
    with transaction.atomic():
        locked = _lock(defect)
        _check_version(locked, expected_version)
        project = locked.project
        if "title" in data:
            data["title"] = (data["title"] or "").strip()
            if not data["title"]:
                raise DomainError("A defect needs a title.", field="title")
            if len(data["title"]) > TITLE_MAX:
                raise DomainError(f"The title is longer than {TITLE_MAX} characters.", field="title")
        for name, choices in (
            ("severity", Severity),
            ("priority", Priority),
            ("found_in_environment", Environment),
        ):
            if name in data:
                _check_choice(data[name], choices, field=name)
        for name in ("found_in_release", "fixed_in_release"):
            if name in data:
                _check_release(data[name], project, field=name)
        if "assignee" in data:
            _check_assignee(data["assignee"], project)
        if "component" in data:
            data["component"] = (data["component"] or "").strip()
        if "description" in data:
            data["description"] = data["description"] or ""
        old_releases = (locked.found_in_release_id, locked.fixed_in_release_id)
        changes: dict[str, tuple[Any, Any]] = {}
        for name, new in data.items():
            old = getattr(locked, name)
            if old != new:
                changes[name] = (old, new)
                setattr(locked, name, new)
        if not changes:
            return locked
        now = timezone.now()
        locked.version = F("version") + 1
        locked.save(update_fields=[*changes, "version", "updated_at"])
        locked.refresh_from_db(fields=["version"])
        DefectFieldChange.objects.bulk_create(
            DefectFieldChange(
                defect=locked, field=name, old_value=_display(old), new_value=_display(new), at=now, by=by
            )
            for name, (old, new) in changes.items()
        )
        _recompute_for(locked, *old_releases)
    return locked


def defect_comment_add(*, defect: Defect, by, body: str) -> DefectComment:
    """Add a comment to the defect's timeline. Comments are not evidence: no version bump, no recompute."""
    body = (body or "").strip()
    if not body:
        raise DomainError("A comment cannot be empty.", field="body")
    if len(body) > 20_000:
        raise DomainError("A comment is limited to 20,000 characters.", field="body")
    return DefectComment.objects.create(defect=defect, author=by, body=body)


def defect_delete(*, defect: Defect, by) -> None:
    """Delete a defect with its history (project admins only: history is evidence). Schedules a recompute."""
    if by is not None and not (by.is_superuser or has_role(by, defect.project_id, Role.ADMIN)):
        raise AccessDenied(
            "Only the project's admins may delete a defect; resolve it as 'not_a_defect' instead."
        )
    with transaction.atomic():
        release_ids = (defect.found_in_release_id, defect.fixed_in_release_id)
        project_id = defect.project_id
        Defect.objects.filter(pk=defect.pk).delete()
        _schedule_recompute(release_ids=release_ids, project_ids=(project_id,))


# --- bulk -------------------------------------------------------------------------------------------


class BulkAction:
    ASSIGN = "assign"
    SET_SEVERITY = "set_severity"
    SET_PRIORITY = "set_priority"
    MOVE = "move"
    MARK_DUPLICATE = "mark_duplicate"
    ADD_TO_RELEASE = "add_to_release"
    ALL = (ASSIGN, SET_SEVERITY, SET_PRIORITY, MOVE, MARK_DUPLICATE, ADD_TO_RELEASE)


@dataclass
class BulkReport:
    """What a bulk action did: the keys it changed, and each refused row with its reason."""

    action: str
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "counts": {
                "changed": len(self.changed),
                "unchanged": len(self.unchanged),
                "refused": len(self.refused),
            },
        }


def _bulk_one(*, defect: Defect, action: str, by, params: dict[str, Any]) -> bool:
    """Apply one bulk action to one defect; True when something changed."""
    if action == BulkAction.ASSIGN:
        before = defect.version
        return (
            defect_update(defect=defect, by=by, data={"assignee": params.get("assignee")}).version != before
        )
    if action == BulkAction.SET_SEVERITY:
        before = defect.version
        return defect_update(defect=defect, by=by, data={"severity": params["severity"]}).version != before
    if action == BulkAction.SET_PRIORITY:
        before = defect.version
        return defect_update(defect=defect, by=by, data={"priority": params["priority"]}).version != before
    if action == BulkAction.ADD_TO_RELEASE:
        before = defect.version
        updated = defect_update(defect=defect, by=by, data={"found_in_release": params["release"]})
        return updated.version != before
    if action == BulkAction.MOVE:
        defect_transition(
            defect=defect,
            to=params["to"],
            by=by,
            resolution=params.get("resolution", ""),
            comment=params.get("comment", ""),
        )
        return True
    if action == BulkAction.MARK_DUPLICATE:
        defect_mark_duplicate(
            defect=defect, original=params["original"], by=by, comment=params.get("comment", "")
        )
        return True
    raise DomainError(
        f"Unknown bulk action '{action}'. Actions: {', '.join(BulkAction.ALL)}.", field="action"
    )


def _check_bulk_params(action: str, params: dict[str, Any]) -> None:
    required = {
        BulkAction.SET_SEVERITY: "severity",
        BulkAction.SET_PRIORITY: "priority",
        BulkAction.MOVE: "to",
        BulkAction.MARK_DUPLICATE: "original",
        BulkAction.ADD_TO_RELEASE: "release",
    }
    if action not in BulkAction.ALL:
        raise DomainError(
            f"Unknown bulk action '{action}'. Actions: {', '.join(BulkAction.ALL)}.", field="action"
        )
    name = required.get(action)
    if name and params.get(name) in (None, ""):
        raise DomainError(f"The bulk action '{action}' needs '{name}'.", field=name)
    if action == BulkAction.ASSIGN and "assignee" not in params:
        raise DomainError("The bulk action 'assign' needs 'assignee' (empty to unassign).", field="assignee")
    if action == BulkAction.SET_SEVERITY:
        _check_choice(params["severity"], Severity, field="severity")
    if action == BulkAction.SET_PRIORITY:
        _check_choice(params["priority"], Priority, field="priority")
    if action == BulkAction.MOVE:
        _check_choice(params["to"], DefectStatus, field="to")


def defect_bulk_action(*, defect_ids: Iterable[int], action: str, by, params: dict[str, Any]) -> BulkReport:
    """Apply one action to many defects in one transaction, with a per-row report (see defect_bulk_apply)."""
    return defect_bulk_apply(defect_ids=defect_ids, steps=[(action, params)], by=by)


def defect_bulk_apply(
    *, defect_ids: Iterable[int], steps: list[tuple[str, dict[str, Any]]], by
) -> BulkReport:
    """Apply one or several actions (assign, severity, priority, move, ...) to many defects in one transaction.

    Each row runs in its own savepoint with every step in the order given: a row any step refuses (illegal
    move, no permission, bad reference) is rolled back alone and reported with its reason; the other rows are
    kept. Bad parameters for the whole request (unknown action, invalid severity, ...) refuse it before any
    row is touched. Rows are locked in id order so two bulk actions cannot deadlock. The metric recompute is
    scheduled once at the end, for the union of the touched releases and projects.
    """
    ids = sorted({int(i) for i in defect_ids})
    if not ids:
        raise DomainError("Select at least one defect.", field="ids")
    if len(ids) > MAX_BULK_ROWS:
        raise DomainError(f"A bulk action is limited to {MAX_BULK_ROWS} defects.", field="ids")
    if not steps:
        raise DomainError("Choose at least one change to apply.", field="action")
    for action, params in steps:
        _check_bulk_params(action, params)
    report = BulkReport(action="+".join(action for action, _ in steps))
    with _coalesced_recompute(), transaction.atomic():
        defects = list(
            Defect.objects.select_for_update().filter(pk__in=ids).select_related("project").order_by("pk")
        )
        found = {d.pk for d in defects}
        for missing in sorted(set(ids) - found):
            report.refused.append({"id": str(missing), "key": "", "reason": "No such defect."})
        for defect in defects:
            if not can(by, defect.project_id, Action.EDIT_DEFECTS):
                report.refused.append(
                    {
                        "id": str(defect.pk),
                        "key": defect.key,
                        "reason": f"Your role does not allow editing defects in {defect.project.key}.",
                    }
                )
                continue
            try:
                with transaction.atomic():
                    changed = False
                    for action, params in steps:
                        changed = _bulk_one(defect=defect, action=action, by=by, params=params) or changed
                        defect.refresh_from_db()
            except DomainError as exc:
                report.refused.append({"id": str(defect.pk), "key": defect.key, "reason": exc.message})
                continue
            (report.changed if changed else report.unchanged).append(defect.key)
    return report
