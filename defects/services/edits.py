"""Edit a defect's fields (with audit rows), comment on it, delete it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from qualitygov.errors import AccessDenied, DomainError
from releases.access import Action, authorize, has_role
from releases.models import Release, Role

from .. import notices
from ..models import (
    Defect,
    DefectComment,
    DefectFieldChange,
    Environment,
    Priority,
    Severity,
)
from .common import (
    TITLE_MAX,
    User,
    check_assignee,
    check_choice,
    check_release,
    check_version,
    lock_defect,
    recompute_for,
    schedule_recompute,
)

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
    `by` needs Action.EDIT_DEFECTS (None: the system).
    """
    authorize(by, defect.project_id, Action.EDIT_DEFECTS)
    unknown = sorted(set(data) - set(EDITABLE_FIELDS))
    if unknown:
        raise DomainError(f"These fields cannot be edited here: {', '.join(unknown)}.", field=unknown[0])
    with transaction.atomic():
        locked = lock_defect(defect)
        check_version(locked, expected_version)
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
                check_choice(data[name], choices, field=name)
        for name in ("found_in_release", "fixed_in_release"):
            if name in data:
                check_release(data[name], project, field=name)
        if "assignee" in data:
            check_assignee(data["assignee"], project)
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
        recompute_for(locked, *old_releases)
        if "assignee" in changes:
            notices.defect_assigned(defect=locked, assignee=changes["assignee"][1], by=by)
    return locked


def defect_comment_add(*, defect: Defect, by, body: str) -> DefectComment:
    """Add a comment to the defect's timeline (Action.EDIT_DEFECTS). Comments are not evidence: no version bump,
    no recompute."""
    authorize(by, defect.project_id, Action.EDIT_DEFECTS)
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
        schedule_recompute(release_ids=release_ids, project_ids=(project_id,))
