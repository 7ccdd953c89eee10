"""Defects as they were at T: their state (latest move at or before T) and their fields, replayed in SQL.

Every edit of a defect field is stored as a DefectFieldChange row (field, old value, new value, at). The value a
field had at T is therefore the old value of the *first* change of that field after T, or the current value when
the field has not changed since T. That is one correlated Subquery per field (ordered by time, limited to one row),
so the replay runs inside the metric's aggregate query, never as a Python loop over defects.

Release references are stored in the history as the release's version (unique inside a project), so membership of
a release as of T compares the replayed version with the release's version.
"""

import datetime as dt

from django.db.models import CharField, Exists, Expression, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from .models import OPEN_STATUSES, RESOLVED_STATUSES, Defect, DefectFieldChange, DefectTransition

# Fields a metric reads whose history is replayed.
REPLAYED_FIELDS = ("severity", "found_in_environment", "found_in_release")


def _first_change_after(field: str, as_of, outer: str = "pk") -> Subquery:
    """The old value of the first change of `field` made after T (as_of may be a datetime or an expression)."""
    return Subquery(
        DefectFieldChange.objects.filter(defect=OuterRef(outer), field=field, at__gt=as_of)
        .order_by("at", "id")
        .values("old_value")[:1],
        output_field=CharField(),
    )


def field_as_of(field: str, as_of, *, outer: str = "pk", current: Expression | None = None) -> Expression:
    """An expression for the defect's `field` as it was at T ('' where it was empty or unknown).

    `outer` names the defect's id in the outer query ("pk" on Defect, "defect_id" on DefectTransition).
    """
    if current is None:
        prefix = "" if outer == "pk" else "defect__"
        name = "found_in_release__version" if field == "found_in_release" else field
        current = Coalesce(F(prefix + name), Value(""), output_field=CharField())
    return Coalesce(_first_change_after(field, as_of, outer), current, output_field=CharField())


def with_fields_as_of(defects: QuerySet, as_of: dt.datetime) -> QuerySet:
    """Annotate defects with severity_as_of, environment_as_of and release_version_as_of."""
    return defects.annotate(
        severity_as_of=field_as_of("severity", as_of),
        environment_as_of=field_as_of("found_in_environment", as_of),
        release_version_as_of=field_as_of("found_in_release", as_of),
    )


def _latest_transition(as_of: dt.datetime, field: str) -> Subquery:
    return Subquery(
        DefectTransition.objects.filter(defect=OuterRef("pk"), at__lte=as_of)
        .order_by("-at", "-id")
        .values(field)[:1]
    )


def defects_as_of(defects: QuerySet, as_of: dt.datetime) -> QuerySet:
    """The given defects that existed at T, annotated with state_as_of and resolution_as_of (those of the latest
    move at or before T, ties greatest id)."""
    return (
        defects.filter(created_at__lte=as_of)
        .annotate(
            state_as_of=_latest_transition(as_of, "to_status"),
            resolution_as_of=_latest_transition(as_of, "resolution"),
        )
        .filter(state_as_of__isnull=False)
    )


def closures_q() -> Q:
    """A closure: a move from an open state into a resolved state (resolved, verified or closed).

    Moves between resolved states (resolved -> verified -> closed) are not a second closure, and a defect created
    straight into a resolved state (an import of a finished issue) was never open, so its creation is no closure.
    """
    return Q(from_status__in=OPEN_STATUSES, to_status__in=RESOLVED_STATUSES)


def _ever_in_release_q(release) -> Q:
    """Candidates: defects found in R now, or with a found-in-release change from or to R's version."""
    touched = DefectFieldChange.objects.filter(defect=OuterRef("pk"), field="found_in_release").filter(
        Q(old_value=release.version) | Q(new_value=release.version)
    )
    return Q(found_in_release=release) | Q(Exists(touched))


def release_defects_as_of(release, as_of: dt.datetime) -> QuerySet:
    """Defects whose found-in release as of T is R (any state), annotated with their fields as of T."""
    return with_fields_as_of(
        Defect.objects.filter(project_id=release.project_id).filter(_ever_in_release_q(release)), as_of
    ).filter(release_version_as_of=release.version)


def transitions_in_release_as_of(transitions: QuerySet, release, as_of: dt.datetime) -> QuerySet:
    """Transitions of defects whose found-in release as of T is R."""
    return transitions.filter(defect__in=release_defects_as_of(release, as_of).values("pk"))
