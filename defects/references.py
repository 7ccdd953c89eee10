"""Turning what a request names (a defect id or key, a username, a release id or version) into objects.

Shared by the API and the pages. Defects outside the caller's projects are "not found" (404).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import Http404

from qualitygov.errors import DomainError
from qualitygov.services import parse_id
from releases.access import require
from releases.models import Project, Release

from . import selectors, services
from .models import Defect


def defect_for(request, ref: str, *, action=None) -> Defect:
    """The defect by id or key in one of the user's projects (404 otherwise); with `action`, 403 unless their role
    there allows it."""
    qs = selectors.defect_list_for_user(user=request.user).select_related(
        "duplicate_of", "reporter", "fixed_in_release"
    )
    pk = parse_id(ref)
    defect = qs.filter(pk=pk).first() if pk is not None else qs.filter(key=ref.upper()).first()
    if defect is None:
        raise Http404("No such defect.")
    if action is not None:
        require(request.user, defect.project_id, action)
    return defect


def user_by_name(username: str | None, *, project: Project | None = None, field: str = "assignee"):
    """The user to assign; an unknown username gets the same answer as a user outside the project (no oracle)."""
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None or (project is not None and not services.may_be_assigned(user, project)):
        raise DomainError(services.not_a_member_message(username), field=field)
    return user


def release_in(project: Project, ref, *, field: str) -> Release | None:
    if ref in (None, ""):
        return None
    qs = Release.objects.filter(project=project)
    pk = parse_id(ref)
    release = qs.filter(pk=pk).first() if pk is not None else qs.filter(version=str(ref)).first()
    if release is None:
        raise DomainError(f"No release '{ref}' in project {project.key}.", field=field)
    return release


def _bulk_params(request, action: str, v: dict, first) -> dict:
    """The service parameters of one bulk action: usernames, originals and releases turned into objects."""
    params: dict = {}
    if action == services.BulkAction.ASSIGN:
        params["assignee"] = user_by_name(v.get("assignee"), project=first.project if first else None)
    elif action in (services.BulkAction.SET_SEVERITY, services.BulkAction.SET_PRIORITY):
        name = "severity" if action == services.BulkAction.SET_SEVERITY else "priority"
        if name in v:
            params[name] = v[name]
    elif action == services.BulkAction.MOVE:
        params.update({k: v[k] for k in ("to", "resolution", "comment") if k in v})
    elif action == services.BulkAction.MARK_DUPLICATE:
        if not v.get("original"):
            raise DomainError("Marking duplicates needs 'original' (id or key).", field="original")
        params["original"] = defect_for(request, str(v["original"]))
        params["comment"] = v.get("comment", "")
    elif action == services.BulkAction.ADD_TO_RELEASE:
        if not v.get("release"):
            raise DomainError("Adding to a release needs 'release' (id or version).", field="release")
        if first is None:
            raise DomainError("None of the selected defects exist.", field="ids")
        params["release"] = release_in(first.project, v["release"], field="release")
    return params


def bulk_run(request, v: dict) -> services.BulkReport:
    """Resolve the bulk parameters (users, originals, releases) and run the bulk service (one action)."""
    return bulk_run_steps(request, ids=v["ids"], steps=[(v["action"], v)])


def bulk_run_steps(request, *, ids: list[int], steps: list[tuple[str, dict]]) -> services.BulkReport:
    """Several bulk actions on the same rows in one go (the board's Apply): each step's values resolved."""
    visible = selectors.defect_list_for_user(user=request.user).filter(pk__in=ids)
    first = visible.select_related("project").first()
    resolved = [(action, _bulk_params(request, action, v, first)) for action, v in steps]
    # Defects the caller cannot see are reported like missing ones: their existence is not revealed.
    visible_ids = set(visible.values_list("pk", flat=True))
    if not visible_ids:
        raise DomainError("None of the selected defects exist.", field="ids")
    report = services.defect_bulk_apply(defect_ids=sorted(visible_ids), steps=resolved, by=request.user)
    for missing in sorted(set(ids) - visible_ids):
        report.refused.append({"id": str(missing), "key": "", "reason": "No such defect."})
    return report


def chosen(offered, pk: int | None):
    """The object with this id among those a form offered (the members or releases of its select), or None."""
    return next((o for o in offered if o.pk == pk), None)
