"""Drill-down: the items a release metric counts as of T, built from the same building blocks as the metric.

For a count metric the `value` list holds exactly the counted items (its length equals the value). For a rate the
`numerator` and `denominator` lists hold the items of each side; for a mean (MTTR) the `sample` list holds the n
items averaged. Each part is a queryset of defects, defect moves, requirements, test results or test cases,
rendered as small dicts (id, a human label, and the fields that decided).
"""

import datetime as dt
from collections.abc import Callable

from django.db.models import Exists, OuterRef, Q, QuerySet

from defects.asof import release_defects_as_of
from defects.models import (
    BLOCKING_SEVERITIES,
    OPEN_STATUSES,
    RESOLVED_STATUSES,
    DefectTransition,
    Environment,
    Resolution,
)
from testing.models import CRITICAL_LEVELS, ResultStatus

from .release_metrics import (
    EXECUTED_STATUSES,
    KNOWN_ENVIRONMENTS,
    SEVEN_DAYS,
    closures_q,
    flaky_case_parts,
    latest_results,
    release_defects,
    reopen_parts,
    requirement_parts,
    valid_q,
)


def _defects(qs: QuerySet) -> QuerySet:
    return qs.order_by("number").values(
        "id", "key", "title", "state_as_of", "severity_as_of", "environment_as_of", "created_at"
    )


def _open(release, as_of):
    return release_defects(release, as_of).filter(state_as_of__in=OPEN_STATUSES)


def _arrivals(release, as_of):
    return (
        release_defects_as_of(release, as_of)
        .filter(created_at__gt=as_of - SEVEN_DAYS, created_at__lte=as_of)
        .order_by("number")
        .values("id", "key", "title", "created_at")
    )


def _closures(release, as_of):
    return (
        DefectTransition.objects.filter(
            closures_q(),
            defect__in=release_defects_as_of(release, as_of).values("pk"),
            at__gt=as_of - SEVEN_DAYS,
            at__lte=as_of,
        )
        .order_by("at", "id")
        .values("id", "defect_id", "defect__key", "from_status", "to_status", "at")
    )


def _reopen_sides(release, as_of):
    resolved_once, reopened = reopen_parts(as_of)
    d = release_defects(release, as_of).filter(valid_q()).filter(resolved_once)
    return d.filter(reopened), d


def _leakage_sides(release, as_of):
    known = release_defects(release, as_of).filter(valid_q(), environment_as_of__in=KNOWN_ENVIRONMENTS)
    return known.filter(environment_as_of=Environment.PRODUCTION), known


def _mttr_sample(release, as_of):
    fixed = release_defects(release, as_of).filter(
        state_as_of__in=RESOLVED_STATUSES, resolution_as_of=Resolution.FIXED
    )
    # Only defects with at least one interval in an open state have an open time (the metric's n).
    had_open = Exists(
        DefectTransition.objects.filter(defect=OuterRef("pk"), to_status__in=OPEN_STATUSES, at__lte=as_of)
    )
    return fixed.filter(had_open)


def _requirements(qs: QuerySet) -> QuerySet:
    return qs.order_by("key").values("id", "key", "title")


def _requirement_sides(release, as_of, *, verified: bool, critical_only: bool = False):
    """(numerator, denominator) of a requirement metric: covered or verified requirements over those in scope."""
    scope, linked, unverified = requirement_parts(release=release, as_of=as_of)
    if critical_only:
        scope = scope.filter(criticality__in=CRITICAL_LEVELS)
    counted = scope.filter(linked).exclude(unverified) if verified else scope.filter(linked)
    return counted, scope


def _results(qs: QuerySet) -> QuerySet:
    return qs.order_by("test_case_id").values(
        "id", "test_case_id", "test_case__title", "status", "finished_at", "run_id"
    )


def _flaky_sides(release, as_of):
    with_results, retry_flaky, revision_flaky = flaky_case_parts(release=release, as_of=as_of)
    return with_results.filter(Q(retry_flaky) | Q(revision_flaky)), with_results


def _cases(qs: QuerySet) -> QuerySet:
    return qs.order_by("id").values("id", "title")


def _sides(pair, render) -> dict[str, QuerySet]:
    numerator, denominator = pair
    return {"numerator": render(numerator), "denominator": render(denominator)}


# key -> function(release, as_of) -> {part: queryset of dicts}
PARTS: dict[str, Callable[..., dict[str, QuerySet]]] = {
    "open_defects": lambda r, t: {"value": _defects(_open(r, t))},
    "blocking_open_defects": lambda r, t: {
        "value": _defects(_open(r, t).filter(severity_as_of__in=BLOCKING_SEVERITIES))
    },
    "defect_arrivals_7d": lambda r, t: {"value": _arrivals(r, t)},
    "defect_closures_7d": lambda r, t: {"value": _closures(r, t)},
    "defect_net_flow_7d": lambda r, t: {"arrivals": _arrivals(r, t), "closures": _closures(r, t)},
    "reopen_rate": lambda r, t: _sides(_reopen_sides(r, t), _defects),
    "defect_leakage": lambda r, t: _sides(_leakage_sides(r, t), _defects),
    "defect_mttr_hours": lambda r, t: {"sample": _defects(_mttr_sample(r, t))},
    "requirement_coverage": lambda r, t: _sides(_requirement_sides(r, t, verified=False), _requirements),
    "verified_requirements": lambda r, t: _sides(_requirement_sides(r, t, verified=True), _requirements),
    "verified_critical_requirements": lambda r, t: _sides(
        _requirement_sides(r, t, verified=True, critical_only=True), _requirements
    ),
    "test_pass_rate": lambda r, t: {
        "numerator": _results(latest_results(r, t).filter(status=ResultStatus.PASSED)),
        "denominator": _results(latest_results(r, t).filter(status__in=EXECUTED_STATUSES)),
    },
    "flaky_test_rate": lambda r, t: _sides(_flaky_sides(r, t), _cases),
}
COUNT_KEYS = ("open_defects", "blocking_open_defects", "defect_arrivals_7d", "defect_closures_7d")
MAX_ITEMS = 1000


# What each part lists, as a page names it, and what its items are (the page links each to its own page).
PART_LABELS = {
    "value": "Counted",
    "numerator": "Numerator",
    "denominator": "Denominator",
    "sample": "Averaged (n)",
    "arrivals": "Opened in the 7 days",
    "closures": "Closures in the 7 days (moves from an open into a resolved state)",
    "open_incidents": "Open incidents (beside the mean, with their age so far)",
}
DEFECT_KEYS = (*COUNT_KEYS, "defect_net_flow_7d", "reopen_rate", "defect_leakage", "defect_mttr_hours")
REQUIREMENT_KEYS = ("requirement_coverage", "verified_requirements", "verified_critical_requirements")


def item_kind(key: str, part: str) -> str:
    """defect, move, requirement, result, case, incident or release: what the items of a metric's part are."""
    if key in PROJECT_PARTS:
        return "incident" if key == "mttr_hours" else "release"
    if key == "defect_closures_7d" or part == "closures":
        return "move"
    if key in DEFECT_KEYS:
        return "defect"
    if key in REQUIREMENT_KEYS:
        return "requirement"
    return "result" if key == "test_pass_rate" else "case"


def drilldown_parts(*, release, key: str, as_of: dt.datetime) -> dict[str, dict]:
    """{part: {"count": n, "items": [...] (at most MAX_ITEMS), "truncated": bool}} for the metric as of T."""
    out = {}
    for part, qs in PARTS[key](release, as_of).items():
        items = list(qs[: MAX_ITEMS + 1])
        count = len(items) if len(items) <= MAX_ITEMS else qs.count()
        out[part] = {"count": count, "items": items[:MAX_ITEMS], "truncated": count > MAX_ITEMS}
    return out


# --- Project metrics ----------------------------------------------------------------------------------------------


def _project_parts(project, key: str, as_of: dt.datetime) -> dict[str, QuerySet]:
    from incidents.models import Incident
    from releases.models import Release

    from .policy import policy_for

    window = dt.timedelta(days=policy_for(project)["window_days"])
    incidents = Incident.objects.filter(project=project, started_at__lte=as_of)
    if key == "mttr_hours":
        restored = incidents.filter(restored_at__gt=as_of - window, restored_at__lte=as_of)
        still_open = incidents.filter(Q(restored_at__isnull=True) | Q(restored_at__gt=as_of))
        fields = ("id", "title", "started_at", "restored_at")
        return {
            "sample": restored.order_by("started_at", "id").values(*fields),
            "open_incidents": still_open.order_by("started_at", "id").values(*fields),
        }
    deployed = Release.objects.filter(
        project=project, actual_release_date__gt=as_of - window, actual_release_date__lte=as_of
    )
    incident = Exists(Incident.objects.filter(release=OuterRef("pk"), started_at__lte=as_of))
    hotfix = Exists(Release.objects.filter(hotfix_for=OuterRef("pk"), created_at__lte=as_of))
    fields = ("id", "version", "actual_release_date")
    return {
        "numerator": deployed.filter(Q(incident) | Q(hotfix))
        .order_by("actual_release_date", "id")
        .values(*fields),
        "denominator": deployed.order_by("actual_release_date", "id").values(*fields),
    }


PROJECT_PARTS = ("mttr_hours", "change_failure_rate")


def project_drilldown_parts(*, project, key: str, as_of: dt.datetime) -> dict[str, dict]:
    """The same as drilldown_parts for the project metrics that count incidents or releases."""
    out = {}
    for part, qs in _project_parts(project, key, as_of).items():
        items = list(qs[: MAX_ITEMS + 1])
        count = len(items) if len(items) <= MAX_ITEMS else qs.count()
        out[part] = {"count": count, "items": items[:MAX_ITEMS], "truncated": count > MAX_ITEMS}
    return out
