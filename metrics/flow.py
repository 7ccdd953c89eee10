"""defect_flow: per day (or week) opened, closed (moves from an open into a resolved state), reopened, net, and open
backlog at the end of the bucket, for a project or a release. Counts are grouped in the database; the backlog is the
open count at the start plus the running sum of the bucket's backlog changes (one number per bucket, not per
defect).

Release membership and severity are read as they were at the end of the series (replayed from their history), so a
later edit of a defect never changes the buckets of a past period.
"""

import datetime as dt

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from defects.asof import field_as_of, release_defects_as_of, with_fields_as_of
from defects.models import OPEN_STATUSES, RESOLVED_STATUSES, Defect, DefectTransition

from .release_metrics import closures_q, defects_as_of

# Moves that put a defect into the open backlog: its creation into an open state, or a reopen.
ENTERS_BACKLOG_Q = Q(to_status__in=OPEN_STATUSES) & (Q(from_status="") | Q(from_status__in=RESOLVED_STATUSES))
REOPEN_Q = Q(from_status__in=RESOLVED_STATUSES, to_status__in=OPEN_STATUSES)


def _bucket_start(day: dt.date, bucket: str) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) if bucket == "week" else day


def _scope_defects(*, end: dt.datetime, project=None, release=None):
    """The scope's defects as of the end of the series, annotated with severity_as_of."""
    if release is not None:
        return release_defects_as_of(release, end)
    return with_fields_as_of(Defect.objects.filter(project=project), end)


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

    opened = defects created in the bucket; closed = moves from an open into a resolved state; reopened = moves
    from a resolved state back to an open one; net = opened + reopened - closed; backlog = open defects at the end
    of the bucket. With by_severity, each bucket also carries "backlog_by_severity".
    """
    if bucket not in ("day", "week"):
        raise ValueError("bucket must be 'day' or 'week'")
    defects = _scope_defects(end=end, project=project, release=release)
    opened_rows = (
        defects.filter(created_at__gt=start, created_at__lte=end)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("pk"))
        .order_by()
    )
    moves = DefectTransition.objects.filter(
        defect__in=defects.values("pk"), at__gt=start, at__lte=end
    ).annotate(
        day=TruncDate("at"),
        sev=field_as_of("severity", end, outer="defect_id", current=F("defect__severity")),
    )

    def grouped(q: Q):
        return moves.filter(q).values("day", "sev").annotate(count=Count("pk")).order_by()

    closed_rows, reopened_rows, entered_rows = (
        grouped(closures_q()),
        grouped(REOPEN_Q),
        grouped(ENTERS_BACKLOG_Q),
    )
    initial = (
        defects_as_of(defects, start)
        .filter(state_as_of__in=OPEN_STATUSES)
        .values("severity_as_of")
        .annotate(count=Count("pk"))
        .order_by()
    )
    backlog_by_severity = {row["severity_as_of"]: row["count"] for row in initial}

    first = _bucket_start(start.date(), bucket)
    last = _bucket_start(end.date(), bucket)
    step = dt.timedelta(days=7 if bucket == "week" else 1)
    buckets: dict[dt.date, dict] = {}
    day = first
    while day <= last:
        buckets[day] = {"bucket": day.isoformat(), "opened": 0, "closed": 0, "reopened": 0, "delta": {}}
        day += step

    def target(row):
        day = row["day"]
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        return buckets.get(_bucket_start(day, bucket))

    for rows, name in ((opened_rows, "opened"), (closed_rows, "closed"), (reopened_rows, "reopened")):
        for row in rows:
            if (b := target(row)) is not None:
                b[name] += row["count"]
    for rows, sign in ((entered_rows, 1), (closed_rows, -1)):
        for row in rows:
            if (b := target(row)) is not None:
                b["delta"][row["sev"]] = b["delta"].get(row["sev"], 0) + sign * row["count"]

    result = []
    for key in sorted(buckets):
        b = buckets[key]
        for sev, delta in b.pop("delta").items():
            backlog_by_severity[sev] = backlog_by_severity.get(sev, 0) + delta
        b["net"] = b["opened"] + b["reopened"] - b["closed"]
        b["backlog"] = sum(backlog_by_severity.values())
        if by_severity:
            b["backlog_by_severity"] = dict(backlog_by_severity)
        result.append(b)
    return result
