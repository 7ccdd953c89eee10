"""Who hears about defect changes: the assignee when a defect is assigned to them, the reporter when their defect is
resolved and waits for their verification (issue 16). Called by ``defects.services`` inside the change's
transaction; delivery (in-app, e-mail) is ``notifications.services.publish``'s job.

Nobody is told about what they did themselves, and imports (backdated moves, created_at in the past) tell nobody.
Inside ``batched()`` (a bulk action) the notices of one person are gathered and sent as one: assigning thirty
defects to someone is one notification, not thirty.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from urllib.parse import urlencode

from notifications.kinds import Kind
from notifications.services import publish

from .models import Defect, DefectStatus

# While a bulk action runs: (kind, project id, user id) -> [(defect, actor, extra)], published once at the end.
_batch: ContextVar[dict | None] = ContextVar("_defect_notice_batch", default=None)
MAX_LISTED = 20


def _defect_url(defect: Defect) -> str:
    return f"/defects/{defect.key}/"


def _who(user) -> str:
    return user.get_username() if user is not None else "Someone"


def _tell(kind: str, defect: Defect, user, by, *, title: str, body: str, **payload) -> None:
    """Tell `user` about `defect` (gathered into one notice per person inside a bulk action); never its own actor."""
    if user is None or (by is not None and user.pk == by.pk):
        return
    if _gather(kind, defect, user, by):
        return
    publish(
        kind=kind,
        project=defect.project,
        recipients=[user],
        title=title,
        body=body,
        url=_defect_url(defect),
        payload={"defect": defect.key, **payload},
        actor=by,
    )


def defect_assigned(*, defect: Defect, assignee, by) -> None:
    """Tell `assignee` that `defect` is theirs now (not when they took it themselves)."""
    _tell(
        Kind.DEFECT_ASSIGNED,
        defect,
        assignee,
        by,
        title=f"{defect.key} assigned to you: {defect.title}",
        body=f"{_who(by)} assigned {defect.key} to you ({defect.get_severity_display()} severity, "
        f"{defect.get_priority_display()} priority, {defect.get_status_display()}).",
        assignee=assignee.get_username() if assignee is not None else None,
    )


def defect_resolved(*, defect: Defect, by) -> None:
    """Tell the reporter that their defect was resolved and is waiting for them to verify the fix."""
    _tell(
        Kind.DEFECT_RESOLVED,
        defect,
        defect.reporter,
        by,
        title=f"{defect.key} resolved, please verify: {defect.title}",
        body=f"{_who(by)} resolved {defect.key} ({defect.get_resolution_display() or 'no resolution'}). "
        "You reported it: verify the fix, or reopen it.",
        resolution=defect.resolution,
    )


def _gather(kind: str, defect: Defect, user, by) -> bool:
    batch = _batch.get()
    if batch is None:
        return False
    batch.setdefault((kind, defect.project_id, user.pk), []).append((defect, user, by))
    return True


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Gather the notices made inside the block and send one per person and kind at the end (inside the caller's
    transaction, so a rolled-back bulk action tells nobody). Nested blocks send with the outer one."""
    if _batch.get() is not None:
        yield
        return
    gathered: dict = {}
    token = _batch.set(gathered)
    try:
        yield
    finally:
        _batch.reset(token)
    for (kind, _project_id, _user_id), rows in gathered.items():
        _publish_gathered(kind, rows)


def _publish_gathered(kind: str, rows: list) -> None:
    _, user, by = rows[-1]
    # A row that a later step refused was rolled back to its savepoint: tell only what still holds.
    holds = {"assignee": user} if kind == Kind.DEFECT_ASSIGNED else {"status": DefectStatus.RESOLVED}
    kept = set(Defect.objects.filter(pk__in=[d.pk for d, _, _ in rows], **holds).values_list("pk", flat=True))
    defects = [d for d in {d.pk: d for d, _, _ in rows}.values() if d.pk in kept]
    if not defects:
        return
    if len(defects) == 1 and kind == Kind.DEFECT_ASSIGNED:
        defect_assigned(defect=defects[0], assignee=user, by=by)
        return
    if len(defects) == 1:
        defect_resolved(defect=defects[0], by=by)
        return
    project = defects[0].project
    listed = "\n".join(f"{d.key}: {d.title}" for d in defects[:MAX_LISTED])
    more = f"\n… and {len(defects) - MAX_LISTED} more." if len(defects) > MAX_LISTED else ""
    if kind == Kind.DEFECT_ASSIGNED:
        title = f"{len(defects)} defects of {project.key} assigned to you"
        intro = f"{_who(by)} assigned these defects to you:"
        url = "/defects/?" + urlencode({"project": project.key, "assignee": user.get_username()})
    else:
        title = f"{len(defects)} defects you reported in {project.key} resolved, please verify"
        intro = f"{_who(by)} resolved these defects you reported; verify the fixes, or reopen:"
        url = "/defects/?" + urlencode({"project": project.key, "status": "resolved"})
    publish(
        kind=kind,
        project=project,
        recipients=[user],
        title=title,
        body=f"{intro}\n{listed}{more}",
        url=url,
        payload={"defects": [d.key for d in defects]},
        actor=by,
    )
