"""Reads about incidents, post-mortems and action items."""

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from releases.models import Project

from .models import ActionItem, ActionItemStatus, Incident

OPEN_ITEM_STATUSES = (ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS)  # also ActionItem.is_overdue


def incident_list(*, projects, filters: dict | None = None) -> QuerySet[Incident]:
    """Incidents of the given projects, newest first, filterable by project key, release id, severity and
    state ("open" | "restored"); each annotated with its number of linked defects and open action items."""
    filters = filters or {}
    qs = Incident.objects.filter(project__in=projects).select_related("project", "release")
    if filters.get("project"):
        qs = qs.filter(project__key=str(filters["project"]).upper())
    if filters.get("release"):
        qs = qs.filter(release_id=filters["release"])
    if filters.get("severity"):
        qs = qs.filter(severity=filters["severity"])
    if filters.get("state") == "open":
        qs = qs.filter(restored_at__isnull=True)
    elif filters.get("state") == "restored":
        qs = qs.filter(restored_at__isnull=False)
    return qs.annotate(
        defect_count=Count("defects", distinct=True),
        open_items=Count(
            "action_items", filter=Q(action_items__status__in=OPEN_ITEM_STATUSES), distinct=True
        ),
    ).order_by("-started_at", "-id")


def incident_get(*, projects, pk: int) -> Incident | None:
    return (
        Incident.objects.filter(project__in=projects, pk=pk)
        .select_related("project", "release", "reported_by", "postmortem__author")
        .first()
    )


def open_incidents(*, project: Project) -> QuerySet[Incident]:
    return (
        Incident.objects.filter(project=project, restored_at__isnull=True)
        .select_related("release")
        .order_by("started_at", "id")
    )


def overdue_action_items(*, project: Project) -> QuerySet[ActionItem]:
    """Action items of the project's incidents that are not done and past their due date (UTC today)."""
    return (
        ActionItem.objects.filter(
            incident__project=project, status__in=OPEN_ITEM_STATUSES, due_date__lt=timezone.now().date()
        )
        .select_related("incident", "owner")
        .order_by("due_date", "id")
    )
