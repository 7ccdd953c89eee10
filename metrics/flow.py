"""defect_flow: per day (or week) opened, closed (entries into a resolved state), reopened, net, and open backlog at
the end of the bucket, for a project or a release. Counts are grouped in the database; the backlog is the open
count at the start plus the running sum of the bucket deltas (one number per bucket, not per defect)."""

import datetime as dt

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from defects.models import OPEN_STATUSES, RESOLVED_STATUSES, Defect, DefectTransition

from .release_metrics import closures_q, defects_as_of


def _bucket_start(day: dt.date, bucket: str) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) if bucket == "week" else day


def _scope_filters(*, project=None, release=None) -> tuple[Q, Q]:
    if release is not None:
        return Q(found_in_release=release), Q(defect__found_in_release=release)
    return Q(project=project), Q(defect__project=project)


def defect_flow(
    *,
    start: dt.datetime,
    end: dt.datetime,
    bucket: str = "day",
    project=None,
    release=None,
    by_severity: bool = False,
) -> list[dict]:
    """Buckets covering (start, end]: {"bucket": date, "opened", "closed", "reopened", "net", "backlog"}.

    net = opened - closed; backlog = open defects at the end of the bucket, so
    backlog_end - backlog_start = opened + reopened - closed. With by_severity, each bucket also carries
    "backlog_by_severity".
    """
    if bucket not in ("day", "week"):
        raise ValueError("bucket must be 'day' or 'week'")
    defect_q, transition_q = _scope_filters(project=project, release=release)
    opened_rows = (
        Defect.objects.filter(defect_q, created_at__gt=start, created_at__lte=end)
        .annotate(day=TruncDate("created_at"))
        .values("day", "severity")
        .annotate(count=Count("pk"))
        .order_by()
    )
    moves = DefectTransition.objects.filter(transition_q, at__gt=start, at__lte=end)
    closed_rows = (
        moves.filter(closures_q())
        .annotate(day=TruncDate("at"))
        .values("day", "defect__severity")
        .annotate(count=Count("pk"))
        .order_by()
    )
    reopened_rows = (
        moves.filter(from_status__in=RESOLVED_STATUSES, to_status__in=OPEN_STATUSES)
        .annotate(day=TruncDate("at"))
        .values("day", "defect__severity")
        .annotate(count=Count("pk"))
        .order_by()
    )
    initial = (
        defects_as_of(Defect.objects.filter(defect_q), start)
        .filter(state_as_of__in=OPEN_STATUSES)
        .values("severity")
        .annotate(count=Count("pk"))
        .order_by()
    )
    backlog_by_severity = {row["severity"]: row["count"] for row in initial}

    first = _bucket_start(start.date(), bucket)
    last = _bucket_start(end.date(), bucket)
    step = dt.timedelta(days=7 if bucket == "week" else 1)
    buckets: dict[dt.date, dict] = {}
    day = first
    while day <= last:
        buckets[day] = {
            "bucket": day.isoformat(),
            "opened": 0,
            "closed": 0,
            "reopened": 0,
            "delta_by_severity": {},
        }
        day += step

    def add(rows, field, sign, severity_field):
        for row in rows:
            day = row["day"]
            if isinstance(day, str):
                day = dt.date.fromisoformat(day)
            target = buckets.get(_bucket_start(day, bucket))
            if target is None:
                continue
            target[field] += row["count"]
            sev = row[severity_field]
            target["delta_by_severity"][sev] = target["delta_by_severity"].get(sev, 0) + sign * row["count"]

    add(opened_rows, "opened", 1, "severity")
    add(closed_rows, "closed", -1, "defect__severity")
    add(reopened_rows, "reopened", 1, "defect__severity")

    result = []
    for key in sorted(buckets):
        b = buckets[key]
        for sev, delta in b.pop("delta_by_severity").items():
            backlog_by_severity[sev] = backlog_by_severity.get(sev, 0) + delta
        b["net"] = b["opened"] - b["closed"]
        b["backlog"] = sum(backlog_by_severity.values())
        if by_severity:
            b["backlog_by_severity"] = dict(backlog_by_severity)
        result.append(b)
    return result
