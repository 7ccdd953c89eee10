"""Reads about defects: the triage board's filtered list, a defect with its links, its timeline, its likely duplicates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from qualitygov.errors import DomainError
from qualitygov.services import parse_id
from qualitygov.timeparams import parse_as_of, parse_instant
from releases.models import Release
from releases.selectors import project_list_for_user

from . import duplicates
from .asof import closures_q, defects_as_of, with_fields_as_of
from .models import (
    OPEN_STATUSES,
    Defect,
    DefectStatus,
    DefectTransition,
    Environment,
    Priority,
    Resolution,
    Severity,
)

# Sort keys the board and the API accept; "-" in front means descending.
SORTS: dict[str, tuple[str, ...]] = {
    "key": ("project__key", "number"),
    "title": ("title", "id"),
    "severity": ("severity_rank", "id"),
    "priority": ("priority_rank", "id"),
    "status": ("status", "id"),
    "assignee": ("assignee__username", "id"),
    "created": ("created_at", "id"),
    "updated": ("updated_at", "id"),
}
DEFAULT_SORT = "-created"
WINDOW_PARAMS = ("opened_after", "opened_to", "closed_after", "closed_to")
# The board's "created" shortcuts: how many UTC days back, today included.
CREATED_WINDOWS: dict[str, int] = {"today": 1, "7d": 7, "30d": 30}


@dataclass
class DefectFilters:
    """The board's filters, as parsed from the query string. Empty means "any"."""

    project: str = ""
    release: str = ""
    status: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    assignee: str = ""
    component: str = ""
    environment: str = ""
    external_id: str = ""
    q: str = ""
    sort: str = DEFAULT_SORT
    # Only defects whose linked test failed again after they were resolved (testing/regressions.py).
    regressed: bool = False
    # Created within: "today", "7d" or "30d" (UTC days), and/or a date range (inclusive).
    created: str = ""
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    # As of T: status, severity, environment and release are matched as they were at T (replayed), and only
    # defects that existed at T are listed; what a metric as of T counts (defects.asof).
    as_of: dt.datetime | None = None
    # Windows (after, to] as the flow metrics count them: created in the window; with a move from an open into a
    # resolved state (a closure) in the window.
    opened_after: dt.datetime | None = None
    opened_to: dt.datetime | None = None
    closed_after: dt.datetime | None = None
    closed_to: dt.datetime | None = None

    @property
    def closed_window(self) -> bool:
        return self.closed_after is not None or self.closed_to is not None

    @classmethod
    def from_querydict(cls, params) -> DefectFilters:
        def many(name: str) -> tuple[str, ...]:
            values: list[str] = []
            for raw in params.getlist(name):
                values.extend(v.strip() for v in raw.split(",") if v.strip())
            return tuple(dict.fromkeys(values))

        statuses = many("status")
        if "open" in statuses:  # shortcut for every open state
            statuses = tuple(dict.fromkeys([s for s in statuses if s != "open"] + list(OPEN_STATUSES)))
        if "resolved_all" in statuses:
            statuses = tuple(
                dict.fromkeys(
                    [s for s in statuses if s != "resolved_all"]
                    + [DefectStatus.RESOLVED, DefectStatus.VERIFIED, DefectStatus.CLOSED]
                )
            )
        sort = params.get("sort", DEFAULT_SORT) or DEFAULT_SORT
        if sort.lstrip("-") not in SORTS:
            sort = DEFAULT_SORT
        return cls(
            project=(params.get("project") or "").strip().upper(),
            release=(params.get("release") or "").strip(),
            status=tuple(s for s in statuses if s in DefectStatus.values),
            severity=tuple(s for s in many("severity") if s in Severity.values),
            priority=tuple(s for s in many("priority") if s in Priority.values),
            assignee=(params.get("assignee") or "").strip(),
            component=(params.get("component") or "").strip(),
            environment=(params.get("environment") or "").strip(),
            external_id=(params.get("external_id") or "").strip(),
            q=(params.get("q") or "").strip()[:200],
            sort=sort,
            regressed=(params.get("regressed") or "").strip().lower() in ("1", "true", "yes"),
            created=created if (created := (params.get("created") or "").strip()) in CREATED_WINDOWS else "",
            created_from=_date_or_none(params.get("created_from")),
            created_to=_date_or_none(params.get("created_to")),
            as_of=parse_as_of(params.get("as_of")),
            **{name: parse_instant(params.get(name), field=name, end_of_day=True) for name in WINDOW_PARAMS},
        )


def filters_from_params(params) -> tuple[DefectFilters, str]:
    """The board's filters, and a message naming an unreadable time filter (then left out, never guessed)."""
    try:
        return DefectFilters.from_querydict(params), ""
    except DomainError as exc:
        params = params.copy()
        for name in ("as_of", *WINDOW_PARAMS):
            params.pop(name, None)
        return DefectFilters.from_querydict(params), f"{exc.field}: {exc.message}"


def _related_model(relation: str):
    """The model at the other end of a defect relation (testing's results and regressions): testing imports
    defects, so defects reaches testing's rows through the relations the models declare."""
    return Defect._meta.get_field(relation).related_model


def _date_or_none(raw) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip()[:10])
    except ValueError:
        return None


def _rank(field: str, values: list[str]):
    from django.db.models import Case, IntegerField, Value, When

    return Case(
        *[When(**{field: v}, then=Value(i)) for i, v in enumerate(values)], output_field=IntegerField()
    )


def defect_list_for_user(*, user) -> QuerySet[Defect]:
    """Defects of the projects the user can see, with what a list row shows, in one query."""
    qs = Defect.objects.select_related("project", "assignee", "reporter", "found_in_release")
    if not user.is_superuser:
        qs = qs.filter(project__in=project_list_for_user(user=user).values("pk"))
    return qs


def defect_list(*, user, filters: DefectFilters) -> QuerySet[Defect]:
    """The triage board's rows: visible defects filtered and sorted as asked."""
    qs = defect_list_for_user(user=user)
    if filters.project:
        qs = qs.filter(project__key=filters.project)
    qs = _time_filtered(qs, filters)
    as_of = filters.as_of is not None
    state, severity, environment = (
        ("state_as_of", "severity_as_of", "environment_as_of")
        if as_of
        else ("status", "severity", "found_in_environment")
    )
    if filters.release:
        qs = _release_filtered(qs, filters.release, as_of=as_of)
    if filters.status:
        qs = qs.filter(**{f"{state}__in": filters.status})
    if filters.severity:
        qs = qs.filter(**{f"{severity}__in": filters.severity})
    if filters.priority:
        qs = qs.filter(priority__in=filters.priority)
    if filters.assignee:
        if filters.assignee == "none":
            qs = qs.filter(assignee__isnull=True)
        else:
            qs = qs.filter(assignee__username=filters.assignee)
    if filters.component:
        qs = qs.filter(component__iexact=filters.component)
    if filters.environment:
        qs = qs.filter(**{environment: filters.environment})
    if filters.external_id:
        qs = qs.filter(external_id=filters.external_id)
    if filters.created:
        today = timezone.now().astimezone(dt.UTC).date()
        qs = qs.filter(created_at__date__gte=today - dt.timedelta(days=CREATED_WINDOWS[filters.created] - 1))
    if filters.created_from:
        qs = qs.filter(created_at__date__gte=filters.created_from)
    if filters.created_to:
        qs = qs.filter(created_at__date__lte=filters.created_to)
    if filters.regressed:
        qs = qs.filter(Exists(_related_model("regressions").objects.filter(defect=OuterRef("pk"))))
    if filters.q:
        text = filters.q
        cond = Q(title__icontains=text) | Q(key__iexact=text) | Q(external_id=text)
        qs = qs.filter(cond)
    qs = qs.annotate(
        severity_rank=_rank("severity", Severity.values), priority_rank=_rank("priority", Priority.values)
    )
    name = filters.sort.lstrip("-")
    descending = filters.sort.startswith("-")
    order = [f"-{f}" if descending else f for f in SORTS[name]]
    return qs.order_by(*order)


def _time_filtered(qs: QuerySet, filters: DefectFilters) -> QuerySet:
    """As of T (fields replayed, state of the latest move by T) and the opened/closed windows."""
    if filters.as_of is not None:
        qs = defects_as_of(with_fields_as_of(qs, filters.as_of), filters.as_of)
    if filters.opened_after is not None:
        qs = qs.filter(created_at__gt=filters.opened_after)
    if filters.opened_to is not None:
        qs = qs.filter(created_at__lte=filters.opened_to)
    if filters.closed_window:
        qs = qs.filter(Exists(window_closures(filters).filter(defect=OuterRef("pk"))))
    return qs


def window_closures(filters: DefectFilters) -> QuerySet:
    """The closures (moves from an open into a resolved state) in the filters' closed window, by T if as of T."""
    moves = DefectTransition.objects.filter(closures_q())
    if filters.closed_after is not None:
        moves = moves.filter(at__gt=filters.closed_after)
    if filters.closed_to is not None:
        moves = moves.filter(at__lte=filters.closed_to)
    if filters.as_of is not None:
        moves = moves.filter(at__lte=filters.as_of)
    return moves


def closures_in_window(*, defects: QuerySet, filters: DefectFilters) -> int:
    """How many closures the listed defects made in the closed window (a defect closed twice counts twice, as
    `defect_closures_7d` does)."""
    return window_closures(filters).filter(defect__in=defects.values("pk")).count()


def _release_filtered(qs: QuerySet, ref: str, *, as_of: bool) -> QuerySet:
    """Found in the release given by id or version ("none": no release), as it was at T when listing as of T."""
    if not as_of:
        if ref == "none":
            return qs.filter(found_in_release__isnull=True)
        if (release_id := parse_id(ref)) is not None:
            return qs.filter(found_in_release_id=release_id)
        return qs.filter(found_in_release__version=ref)
    if ref == "none":
        return qs.filter(release_version_as_of="")
    if (release_id := parse_id(ref)) is not None:
        release = Release.objects.filter(pk=release_id).values("project_id", "version").first()
        if release is None:
            return qs.none()
        return qs.filter(project_id=release["project_id"], release_version_as_of=release["version"])
    return qs.filter(release_version_as_of=ref)


def defect_get_for_user(*, user, key: str) -> Defect:
    """One defect by key, with everything its detail page shows, if the user may see its project."""
    related_results = (
        _related_model("test_results")
        .objects.select_related("test_case", "run", "release")
        .order_by("-finished_at")
    )
    defect = (
        defect_list_for_user(user=user)
        .select_related("reporter", "fixed_in_release", "duplicate_of")
        .prefetch_related(
            "requirements",
            "test_cases",
            Prefetch("test_results", queryset=related_results),
            Prefetch(
                "duplicates", queryset=Defect.objects.only("id", "key", "title", "status", "duplicate_of_id")
            ),
        )
        .filter(key=(key or "").upper())
        .first()
    )
    if defect is None:
        raise Http404("No such defect.")
    return defect


@dataclass
class TimelineEvent:
    kind: str  # "transition" | "change" | "comment"
    at: dt.datetime
    by: str
    data: dict[str, Any]


# How the timeline names an edited field, and the choices whose labels replace its stored values.
FIELD_LABELS: dict[str, tuple[str, Any]] = {
    "title": ("title", None),
    "description": ("description", None),
    "severity": ("severity", Severity),
    "priority": ("priority", Priority),
    "component": ("component", None),
    "assignee": ("assignee", None),
    "found_in_release": ("found in release", None),
    "found_in_environment": ("environment", Environment),
    "fixed_in_release": ("fix version", None),
    "status": ("status", DefectStatus),
    "resolution": ("resolution", Resolution),
}


def choice_label(choices, value: str) -> str:
    """The label of a stored choice ("wont_fix" -> "Won't fix"); the value itself when it is not one."""
    if not value:
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _field_value_label(field: str, value: str) -> str:
    choices = FIELD_LABELS.get(field, ("", None))[1]
    return choice_label(choices, value) if choices else value


def defect_timeline(*, defect: Defect, labels: bool = False) -> list[TimelineEvent]:
    """Transitions, field changes and comments of one defect, oldest first, in three queries.

    With `labels` (the page), states, resolutions and choice values read as their labels ("In progress",
    "Won't fix") and fields by their names ("fix version"); without (the API), the stored values.
    """
    status_name = (lambda v: choice_label(DefectStatus, v)) if labels else str
    resolution_name = (lambda v: choice_label(Resolution, v)) if labels else str
    events: list[TimelineEvent] = []
    for t in defect.transitions.select_related("by").order_by("at", "id"):
        data = {
            "from": t.from_status,
            "to": t.to_status,
            "resolution": resolution_name(t.resolution),
            "comment": t.comment,
            "id": t.pk,
        }
        if labels:
            data.update(from_label=status_name(t.from_status), to_label=status_name(t.to_status))
        events.append(
            TimelineEvent(kind="transition", at=t.at, by=t.by.get_username() if t.by else "", data=data)
        )
    for c in defect.field_changes.select_related("by").order_by("at", "id"):
        data = {"field": c.field, "old": c.old_value, "new": c.new_value, "id": c.pk}
        if labels:
            data.update(
                field=FIELD_LABELS.get(c.field, (c.field.replace("_", " "), None))[0],
                old=_field_value_label(c.field, c.old_value),
                new=_field_value_label(c.field, c.new_value),
            )
        events.append(
            TimelineEvent(kind="change", at=c.at, by=c.by.get_username() if c.by else "", data=data)
        )
    for c in defect.comments.select_related("author").order_by("created_at", "id"):
        events.append(
            TimelineEvent(
                kind="comment",
                at=c.created_at,
                by=c.author.get_username() if c.author else "",
                data={"body": c.body, "id": c.pk},
            )
        )
    order = {"transition": 0, "change": 1, "comment": 2}
    events.sort(key=lambda e: (e.at, order[e.kind], e.data["id"]))
    return events


def board_choices(*, user, project_key: str = "") -> dict[str, Any]:
    """Options for the board's filter selects: visible projects, releases, assignees, components."""
    from django.contrib.auth import get_user_model

    from releases.models import Release
    from releases.selectors import newest_version_first

    projects = list(project_list_for_user(user=user).only("id", "key", "name"))
    project_ids = [p.pk for p in projects]
    releases = (
        Release.objects.filter(project_id__in=project_ids)
        .select_related("project")
        .order_by("project__key", *newest_version_first())
    )
    if project_key:
        releases = releases.filter(project__key=project_key)
    members = (
        get_user_model()
        .objects.filter(memberships__project_id__in=project_ids)
        .distinct()
        .order_by("username")
        .only("id", "username")
    )
    if project_key:
        members = members.filter(memberships__project__key=project_key)
    components = (
        Defect.objects.filter(project_id__in=project_ids)
        .exclude(component="")
        .order_by("component")
        .values_list("component", flat=True)
        .distinct()[:200]
    )
    return {
        "projects": projects,
        "releases": list(releases[:300]),
        "members": list(members[:300]),
        "components": list(components),
    }


def defect_similar_list(
    *, project_id: int, title: str, description: str = "", exclude_id: int | None = None, limit: int = 5
) -> list[duplicates.Similar]:
    """Duplicate candidates for a text: the `limit` defects of the project most similar to it, best first.

    The one function behind the create form's as-you-type suggestions and `GET /api/v1/defects/similar/`;
    `defect_similar_to` serves the defect page and its API. Never looks outside the project; at most six
    queries whatever the project's size (defects/duplicates.py explains the ranking).
    """
    return duplicates.find(
        project_id=project_id, title=title, description=description, exclude_id=exclude_id, limit=limit
    )


def defect_similar_to(*, defect: Defect, limit: int = 5) -> list[duplicates.Similar]:
    """Duplicate candidates for an existing defect: the most similar others of its project (itself excluded)."""
    return defect_similar_list(
        project_id=defect.project_id,
        title=defect.title,
        description=defect.description,
        exclude_id=defect.pk,
        limit=limit,
    )
