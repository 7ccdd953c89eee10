"""What the defect writes share: field checks, the row lock, and the coalesced metric recompute request."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.utils import timezone

from qualitygov import hooks
from qualitygov.errors import AccessDenied, ConflictError, DomainError
from releases.access import Action, can, role_of
from releases.models import Project, Release

from ..models import (
    Defect,
)

User = get_user_model()

TITLE_MAX = Defect._meta.get_field("title").max_length
MAX_BULK_ROWS = 1000

# While a bulk action runs, recompute requests are collected here and sent once at the end.
_pending_recompute: ContextVar[tuple[set[int], set[int]] | None] = ContextVar(
    "_pending_recompute", default=None
)


def schedule_recompute(
    *, release_ids: Iterable[int | None] = (), project_ids: Iterable[int | None] = ()
) -> None:
    """Ask the metrics app to recompute, or add to the batch when inside `coalesced_recompute`."""
    releases = {r for r in release_ids if r}
    projects = {p for p in project_ids if p}
    if not releases and not projects:
        return
    pending = _pending_recompute.get()
    if pending is not None:
        pending[0].update(releases)
        pending[1].update(projects)
        return
    hooks.evidence_changed(release_ids=tuple(sorted(releases)), project_ids=tuple(sorted(projects)))


@contextlib.contextmanager
def coalesced_recompute() -> Iterator[tuple[set[int], set[int]]]:
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
    schedule_recompute(release_ids=pending[0], project_ids=pending[1])


def recompute_for(defect: Defect, *extra_release_ids: int | None) -> None:
    schedule_recompute(
        release_ids=(defect.found_in_release_id, defect.fixed_in_release_id, *extra_release_ids),
        project_ids=(defect.project_id,),
    )


def choice_label(choices, value: str) -> str:
    """The human label of a stored choice ("in_progress" -> "In progress"); the value itself if unknown."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def check_choice(value: str, choices, *, field: str) -> str:
    if value not in choices.values:
        raise DomainError(
            f"'{value}' is not a valid {field}. Choose one of: {', '.join(choices.values)}.", field=field
        )
    return value


def check_backdate(*, when: dt.datetime, by, project_id: int, field: str) -> None:
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


def check_release(release: Release | None, project: Project, *, field: str) -> None:
    if release is not None and release.project_id != project.pk:
        # The same words as for an unknown release: another project's release is not revealed.
        raise DomainError(f"No release {release.pk} in project {project.key}.", field=field)


def not_a_member_message(username: str) -> str:
    """One answer for an unknown username and for a user outside the project (no username oracle)."""
    return f"'{username}' is not a member of this project."


def may_be_assigned(user, project: Project) -> bool:
    return bool(user.is_superuser or role_of(user, project) is not None)


def check_assignee(assignee, project: Project) -> None:
    if assignee is not None and not may_be_assigned(assignee, project):
        raise DomainError(not_a_member_message(assignee.get_username()), field="assignee")


def check_version(defect: Defect, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != defect.version:
        raise ConflictError(
            f"{defect.key} was changed by someone else (you had version {expected_version}, "
            f"it is now {defect.version}). Reload it and try again.",
            field="expected_version",
        )


def lock_defect(defect: Defect) -> Defect:
    """Re-read the defect under a row lock. Must be called inside transaction.atomic."""
    try:
        return Defect.objects.select_for_update().get(pk=defect.pk)
    except Defect.DoesNotExist:
        raise DomainError("The defect no longer exists.") from None
