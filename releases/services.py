"""Writes about projects, releases and memberships.

Every function takes the acting user `by` and checks it with releases.access.authorize; system callers such as
`seed_demo` write `by=None` out to act as the system.
"""

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from qualitygov import hooks
from qualitygov.errors import ConflictError, DomainError

from .access import Action, authorize
from .guards import Refusal, move_guards
from .models import (
    DEPLOYED_RELEASE_STATUSES,
    RELEASE_MOVES,
    ChangeClass,
    Membership,
    Project,
    Release,
    ReleaseStatus,
    Role,
    move_allowed,
)

User = get_user_model()

# A release's editable fields, in the order the edit page and the API show them.
RELEASE_FIELDS = [
    "version",
    "name",
    "status",
    "change_class",
    "planned_release_date",
    "actual_release_date",
    "hotfix_for",
    "description",
]


def _first_error(exc: ValidationError) -> DomainError:
    """Turn a model ValidationError into a DomainError naming the first offending field."""
    if hasattr(exc, "message_dict"):
        field, messages = next(iter(exc.message_dict.items()))
        return DomainError(" ".join(messages), field=None if field == "__all__" else field)
    return DomainError(" ".join(exc.messages))


def _schedule_project_recompute(project: Project, release_ids: tuple[int, ...] = ()) -> None:
    """Release dates and hotfix links feed change failure rate and stability: recompute after commit."""
    hooks.evidence_changed(release_ids=release_ids, project_ids=(project.pk,))


# --- Projects --------------------------------------------------------------------------------------------


def project_create(*, key: str, name: str, description: str = "", by) -> Project:
    """Create a project with the default quality gates; its creator becomes its admin.

    Refuses a malformed or taken key with a DomainError on field `key`.
    """
    key = (key or "").strip().upper()
    name = (name or "").strip()
    project = Project(key=key, name=name, description=description or "")
    try:
        project.full_clean(exclude=["metric_policy"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise _first_error(exc) from exc
    if Project.objects.filter(key=key).exists():
        raise ConflictError(f"A project with key '{key}' already exists.", field="key")
    try:
        with transaction.atomic():
            project.save()
            if by is not None and getattr(by, "is_authenticated", False):
                Membership.objects.create(project=project, user=by, role=Role.ADMIN)
            hooks.project_created(project=project, by=by)
    except IntegrityError as exc:
        raise ConflictError(f"A project with key '{key}' already exists.", field="key") from exc
    return project


def project_update(*, project: Project, data: dict[str, Any], by) -> Project:
    """Change a project's name or description (project admins)."""
    authorize(by, project, Action.MANAGE_MEMBERS)
    changed = []
    for field in ("name", "description"):
        if field in data and getattr(project, field) != data[field]:
            setattr(project, field, (data[field] or "").strip() if field == "name" else data[field] or "")
            changed.append(field)
    if changed:
        try:
            project.full_clean(exclude=["metric_policy", "key"])
        except ValidationError as exc:
            raise _first_error(exc) from exc
        project.save(update_fields=changed)
    return project


# --- Releases --------------------------------------------------------------------------------------------


def _validate_release(release: Release) -> None:
    """Rules beyond the model's constraints, with messages a person can act on."""
    if release.status in DEPLOYED_RELEASE_STATUSES and release.actual_release_date is None:
        # Marking a release released without a date means "deployed now".
        release.actual_release_date = timezone.now()
    if (
        release.actual_release_date is not None
        and release.actual_release_date > timezone.now() + dt.timedelta(minutes=5)
    ):
        raise DomainError("The actual release date cannot be in the future.", field="actual_release_date")
    if release.hotfix_for_id is not None:
        target = release.hotfix_for
        if target.project_id != release.project_id:
            raise DomainError("A hotfix must repair a release of the same project.", field="hotfix_for")
        if release.pk is not None and target.pk == release.pk:
            raise DomainError("A release cannot be a hotfix for itself.", field="hotfix_for")
        if release.change_class != ChangeClass.HOTFIX:
            raise DomainError(
                "Only a release of change class 'hotfix' can name the release it repairs.", field="hotfix_for"
            )
    try:
        release.full_clean(
            exclude=["project", "hotfix_for"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        raise _first_error(exc) from exc
    clash = Release.objects.filter(project_id=release.project_id, version=release.version)
    if release.pk is not None:
        clash = clash.exclude(pk=release.pk)
    if clash.exists():
        raise DomainError(f"Version '{release.version}' already exists in this project.", field="version")


def release_create(
    *,
    project: Project,
    version: str,
    by,
    name: str = "",
    status: str = ReleaseStatus.PLANNING,
    change_class: str = ChangeClass.MINOR,
    planned_release_date: dt.date | None = None,
    actual_release_date: dt.datetime | None = None,
    hotfix_for: Release | None = None,
    description: str = "",
) -> Release:
    """Create a release in the project (Action.MANAGE_RELEASES). Released ones get a date (now by default)."""
    authorize(by, project, Action.MANAGE_RELEASES)
    release = Release(
        project=project,
        version=(version or "").strip(),
        name=name or "",
        status=status,
        change_class=change_class,
        planned_release_date=planned_release_date,
        actual_release_date=actual_release_date,
        hotfix_for=hotfix_for,
        description=description or "",
    )
    _validate_release(release)
    try:
        with transaction.atomic():
            release.save()
            _schedule_project_recompute(project, (release.pk,))
    except IntegrityError as exc:
        raise ConflictError(
            f"Version '{release.version}' already exists in this project.", field="version"
        ) from exc
    return release


def _check_move(*, release: Release, from_status: str, to_status: str) -> None:
    """Refuse a move the lifecycle does not allow (400), naming the moves that are allowed."""
    if not move_allowed(from_status, to_status):
        allowed = ", ".join(RELEASE_MOVES.get(from_status, ())) or "none (it is final)"
        raise DomainError(
            f"Release {release.version} cannot move from {from_status} to {to_status}. "
            f"Allowed from {from_status}: {allowed}.",
            field="status",
            code="illegal_move",
        )


def _guard_refusal(*, release: Release, from_status: str, to_status: str) -> tuple[object, Refusal] | None:
    """Ask every registered guard; the first refusal wins. Expects the release row to be locked."""
    for guard in move_guards():
        refusal = guard.refusal(release=release, from_status=from_status, to_status=to_status)
        if refusal is not None:
            return guard, refusal
    return None


def release_update(*, release: Release, data: dict[str, Any], by) -> Release:
    """Change a release's fields (Action.MANAGE_RELEASES). Only keys present in `data` are touched.

    A change of `status` is a move (see release_move): allowed moves only, and a move guarded by gates is refused
    with a ConflictError (409) naming the gate and the reason unless each guarding gate has a go decision in force.
    No role bypasses a guard; the refusal is recorded by the guard (the audit log) and nothing else is saved.
    """
    authorize(by, release.project, Action.MANAGE_RELEASES)
    from_status = release.status
    changed = []
    for field in RELEASE_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if field in ("version", "name", "description"):
            value = (value or "").strip() if field == "version" else value or ""
        if getattr(release, field) != value:
            setattr(release, field, value)
            changed.append(field)
    if not changed:
        return release
    moving = "status" in changed
    if moving:
        _check_move(release=release, from_status=from_status, to_status=release.status)
    had_date = release.actual_release_date
    _validate_release(release)
    if release.actual_release_date != had_date and "actual_release_date" not in changed:
        changed.append("actual_release_date")
    refused = None
    try:
        with transaction.atomic():
            if moving:
                # Serialise with decisions and other moves of this release (decision_record locks the same row).
                current = (
                    Release.objects.select_for_update().values_list("status", flat=True).get(pk=release.pk)
                )
                if current != from_status:
                    raise ConflictError(
                        f"Release {release.version} moved to {current} meanwhile; reload and try again.",
                        field="status",
                    )
                refused = _guard_refusal(release=release, from_status=from_status, to_status=release.status)
            if refused is None:
                release.save(update_fields=changed)
                if moving:
                    for guard in move_guards():
                        moved = getattr(guard, "moved", None)
                        if moved is not None:
                            moved(release=release, from_status=from_status, to_status=release.status, by=by)
                _schedule_project_recompute(release.project, (release.pk,))
    except IntegrityError as exc:
        raise ConflictError(
            f"Version '{release.version}' already exists in this project.", field="version"
        ) from exc
    if refused is not None:
        guard, refusal = refused
        to_status = release.status
        release.refresh_from_db()
        guard.refused(release=release, from_status=from_status, to_status=to_status, by=by, refusal=refusal)
        raise ConflictError(refusal.message, field="status", code=refusal.code, details=refusal.details)
    return release


def release_move(*, release: Release, to: str, by) -> Release:
    """Move a release to another status (Action.MANAGE_RELEASES): the lifecycle's allowed moves only
    (releases.models.RELEASE_MOVES), guarded by the gates on the move; see release_update."""
    if to not in ReleaseStatus.values:
        raise DomainError(
            f"Unknown status '{to}'. Choose one of: {', '.join(ReleaseStatus.values)}.", field="status"
        )
    if to == release.status:
        raise DomainError(f"Release {release.version} is already {to}.", field="status", code="illegal_move")
    return release_update(release=release, data={"status": to}, by=by)


def release_delete(*, release: Release, by) -> None:
    """Delete a release without recorded gate evaluations or decisions (those are append-only evidence)."""
    authorize(by, release.project, Action.MANAGE_RELEASES)
    project = release.project
    try:
        with transaction.atomic():
            release.delete()
            _schedule_project_recompute(project)
    except ProtectedError as exc:
        raise ConflictError(
            "This release has recorded gate evaluations or decisions and cannot be deleted; cancel it instead."
        ) from exc


# --- Members ---------------------------------------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise DomainError(f"Unknown role '{role}'. Choose one of: {', '.join(Role.values)}.", field="role")


def _other_admins_exist(membership: Membership) -> bool:
    return (
        Membership.objects.filter(project_id=membership.project_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


def member_add(*, project: Project, username: str, role: str, by) -> Membership:
    """Give an existing user a role in the project (Action.MANAGE_MEMBERS)."""
    authorize(by, project, Action.MANAGE_MEMBERS)
    _check_role(role)
    user = User.objects.filter(username=(username or "").strip()).first()
    if user is None:
        raise DomainError(f"No user named '{username}'.", field="username")
    if Membership.objects.filter(project=project, user=user).exists():
        raise ConflictError(
            f"'{user.username}' is already a member of {project.key}; change their role instead.",
            field="username",
        )
    try:
        with transaction.atomic():
            membership = Membership.objects.create(project=project, user=user, role=role)
    except IntegrityError as exc:
        raise ConflictError(
            f"'{user.username}' is already a member of {project.key}.", field="username"
        ) from exc
    return membership


def member_update(*, membership: Membership, role: str, by) -> Membership:
    """Change a member's role. The last admin of a project cannot be demoted."""
    authorize(by, membership.project, Action.MANAGE_MEMBERS)
    _check_role(role)
    if role == membership.role:
        return membership
    with transaction.atomic():
        # Lock the project's admin rows so two concurrent demotions cannot both pass the check.
        list(Membership.objects.select_for_update().filter(project_id=membership.project_id, role=Role.ADMIN))
        if membership.role == Role.ADMIN and not _other_admins_exist(membership):
            raise DomainError(
                "A project needs at least one admin; make someone else admin first.", field="role"
            )
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def member_remove(*, membership: Membership, by) -> None:
    """Take a user out of the project. The last admin cannot be removed."""
    authorize(by, membership.project, Action.MANAGE_MEMBERS)
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(project_id=membership.project_id, role=Role.ADMIN))
        if membership.role == Role.ADMIN and not _other_admins_exist(membership):
            raise DomainError("A project needs at least one admin; make someone else admin first.")
        membership.delete()
