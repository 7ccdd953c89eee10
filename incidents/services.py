"""Writes about incidents: each one validates, saves in one transaction and schedules the metric recompute
(MTTR and change failure rate come from incidents). Each takes the acting user `by`, who needs
Action.MANAGE_INCIDENTS in the incident's project (releases.access.authorize; `by=None` is the system)."""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from defects.models import Defect
from qualitygov import hooks
from qualitygov.errors import DomainError
from releases.access import Action, authorize
from releases.models import Project, Release

from .models import ActionItem, ActionItemStatus, Incident, IncidentSeverity, PostMortem

INCIDENT_FIELDS = ("title", "description", "severity", "release", "started_at", "detected_at", "restored_at")


def _check_given(text: str | None, *, field: str, message: str) -> None:
    """A DomainError on the field when the text is empty or only white space."""
    if not (text or "").strip():
        raise DomainError(message, field=field)


def _validate(*, project: Project, data: dict) -> None:
    now = timezone.now() + dt.timedelta(minutes=1)
    _check_given(data.get("title"), field="title", message="An incident needs a title.")
    if data.get("severity") not in IncidentSeverity.values:
        raise DomainError(f"Severity must be one of {', '.join(IncidentSeverity.values)}.", field="severity")
    started, detected, restored = data.get("started_at"), data.get("detected_at"), data.get("restored_at")
    if started is None:
        raise DomainError("When did it start? started_at is required.", field="started_at")
    for field in ("started_at", "detected_at", "restored_at"):
        value = data.get(field)
        if value is not None and timezone.is_naive(value):
            raise DomainError("Times need a time zone (UTC).", field=field)
        if value is not None and value > now:
            raise DomainError("Times cannot be in the future.", field=field)
    if detected is not None and detected < started:
        raise DomainError("Detection cannot be before the start.", field="detected_at")
    if restored is not None and restored < started:
        raise DomainError("Restore cannot be before the start.", field="restored_at")
    release = data.get("release")
    if release is not None and release.project_id != project.pk:
        raise DomainError("The release belongs to another project.", field="release")


def _check_defects(*, project: Project, defects: Iterable[Defect]) -> list[Defect]:
    defects = list(defects)
    if any(d.project_id != project.pk for d in defects):
        raise DomainError("Linked defects must belong to the incident's project.", field="defects")
    return defects


@transaction.atomic
def incident_create(
    *,
    project: Project,
    title: str,
    started_at: dt.datetime,
    by,
    detected_at: dt.datetime | None = None,
    restored_at: dt.datetime | None = None,
    severity: str = IncidentSeverity.SEV3,
    release: Release | None = None,
    description: str = "",
    defects: Iterable[Defect] = (),
) -> Incident:
    """Record a production incident (detected_at defaults to started_at) and schedule the recompute."""
    authorize(by, project, Action.MANAGE_INCIDENTS)
    data = {
        "title": title,
        "description": description,
        "severity": severity,
        "release": release,
        "started_at": started_at,
        "detected_at": detected_at or started_at,
        "restored_at": restored_at,
    }
    _validate(project=project, data=data)
    linked = _check_defects(project=project, defects=defects)
    incident = Incident.objects.create(project=project, reported_by=by, **{**data, "title": title.strip()})
    if linked:
        incident.defects.set(linked)
    hooks.evidence_changed(release_ids=[r for r in [incident.release_id] if r], project_ids=[project.pk])
    return incident


@transaction.atomic
def incident_update(
    *, incident: Incident, data: dict, by, defects: Iterable[Defect] | None = None
) -> Incident:
    """Change an incident's fields (any of INCIDENT_FIELDS) and/or its linked defects; recompute old and new
    attributed releases."""
    authorize(by, incident.project_id, Action.MANAGE_INCIDENTS)
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    old_release_id = incident.release_id
    merged = {field: data.get(field, getattr(incident, field)) for field in INCIDENT_FIELDS}
    _validate(project=incident.project, data=merged)
    changed = [field for field in INCIDENT_FIELDS if merged[field] != getattr(incident, field)]
    for field in changed:
        setattr(incident, field, merged[field])
    if changed:
        incident.save(update_fields=changed)
    if defects is not None:
        incident.defects.set(_check_defects(project=incident.project, defects=defects))
    hooks.evidence_changed(
        release_ids=[r for r in (old_release_id, incident.release_id) if r], project_ids=[incident.project_id]
    )
    return incident


def incident_restore(*, incident: Incident, by, restored_at: dt.datetime | None = None) -> Incident:
    """Mark the incident restored (now by default)."""
    authorize(by, incident.project_id, Action.MANAGE_INCIDENTS)
    if incident.restored_at is not None:
        raise DomainError("The incident is already restored.", field="restored_at", code="already_restored")
    return incident_update(incident=incident, data={"restored_at": restored_at or timezone.now()}, by=by)


@transaction.atomic
def postmortem_save(
    *, incident: Incident, summary: str, by, root_cause: str = "", findings: str = "", lessons: str = ""
) -> PostMortem:
    """Create or replace the incident's post-mortem."""
    authorize(by, incident.project_id, Action.MANAGE_INCIDENTS)
    _check_given(summary, field="summary", message="A post-mortem needs a summary.")
    postmortem, created = PostMortem.objects.get_or_create(
        incident=incident,
        defaults={
            "summary": summary,
            "root_cause": root_cause,
            "findings": findings,
            "lessons": lessons,
            "author": by,
        },
    )
    if not created:
        postmortem.summary, postmortem.root_cause = summary, root_cause
        postmortem.findings, postmortem.lessons = findings, lessons
        postmortem.save(update_fields=["summary", "root_cause", "findings", "lessons", "updated_at"])
    return postmortem


def _check_owner(*, incident: Incident, owner) -> None:
    if owner is not None and not owner.memberships.filter(project_id=incident.project_id).exists():
        raise DomainError("The owner must be a member of the project.", field="owner")


@transaction.atomic
def action_item_create(
    *, incident: Incident, title: str, by, owner=None, due_date: dt.date | None = None
) -> ActionItem:
    """Add an action item (what will be done, by whom, by when) to the incident."""
    authorize(by, incident.project_id, Action.MANAGE_INCIDENTS)
    _check_given(title, field="title", message="An action item needs a title.")
    _check_owner(incident=incident, owner=owner)
    return ActionItem.objects.create(incident=incident, title=title.strip(), owner=owner, due_date=due_date)


@transaction.atomic
def action_item_update(*, item: ActionItem, data: dict, by) -> ActionItem:
    """Change title, owner, due date or status; done/cancelled items get completed_at."""
    item = ActionItem.objects.select_for_update().select_related("incident").get(pk=item.pk)
    authorize(by, item.incident.project_id, Action.MANAGE_INCIDENTS)
    if "status" in data and data["status"] not in ActionItemStatus.values:
        raise DomainError(f"Status must be one of {', '.join(ActionItemStatus.values)}.", field="status")
    if "title" in data:
        _check_given(data["title"], field="title", message="An action item needs a title.")
    if "owner" in data:
        _check_owner(incident=item.incident, owner=data["owner"])
    fields = []
    for field in ("title", "owner", "due_date", "status"):
        if field in data and getattr(item, field) != data[field]:
            setattr(item, field, data[field])
            fields.append(field)
    if "status" in fields:
        done = item.status in (ActionItemStatus.DONE, ActionItemStatus.CANCELLED)
        item.completed_at = timezone.now() if done else None
        fields.append("completed_at")
    if fields:
        item.save(update_fields=fields)
    return item
