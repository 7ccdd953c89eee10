"""Metric reads: latest snapshots for many scopes in a bounded number of queries, trend series, alerts."""

import datetime as dt
from collections import defaultdict

from django.db.models import Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncDate

from releases.models import Release

from .models import Alert, AlertRule, MetricSnapshot, Scope
from .registry import PROJECT_KEYS


def _latest(qs: QuerySet, *, scope: str) -> QuerySet:
    """Rows of qs that are the latest snapshot of their (scope target, key)."""
    target = "release" if scope == Scope.RELEASE else "project"
    newest = (
        MetricSnapshot.objects.filter(scope=scope, key=OuterRef("key"), **{target: OuterRef(target)})
        .order_by("-as_of", "-id")
        .values("id")[:1]
    )
    return qs.filter(scope=scope, id=Subquery(newest))


def latest_release_metrics(*, release_ids) -> dict[int, dict[str, MetricSnapshot]]:
    """{release_id: {key: latest MetricSnapshot}} for the releases, including their projects' project-scope
    metrics under the same release id. Two queries whatever the number of releases."""
    release_ids = list(release_ids)
    out: dict[int, dict[str, MetricSnapshot]] = {rid: {} for rid in release_ids}
    if not release_ids:
        return out
    for snap in _latest(MetricSnapshot.objects.filter(release_id__in=release_ids), scope=Scope.RELEASE):
        out[snap.release_id][snap.key] = snap
    project_of = dict(Release.objects.filter(pk__in=release_ids).values_list("pk", "project_id"))
    per_project = latest_project_metrics(project_ids=set(project_of.values()))
    for rid, pid in project_of.items():
        for key, snap in per_project.get(pid, {}).items():
            out[rid].setdefault(key, snap)
    return out


def latest_project_metrics(*, project_ids) -> dict[int, dict[str, MetricSnapshot]]:
    """{project_id: {key: latest project-scope MetricSnapshot}} in one query."""
    out: dict[int, dict[str, MetricSnapshot]] = defaultdict(dict)
    project_ids = list(project_ids)
    if not project_ids:
        return {}
    for snap in _latest(
        MetricSnapshot.objects.filter(project_id__in=project_ids, key__in=PROJECT_KEYS), scope=Scope.PROJECT
    ):
        out[snap.project_id][snap.key] = snap
    return dict(out)


def release_metrics_before(*, release_ids, before: dt.datetime) -> dict[int, dict[str, MetricSnapshot]]:
    """The latest release-scope snapshot of each key taken at or before `before` (for trend arrows), one query."""
    release_ids = list(release_ids)
    out: dict[int, dict[str, MetricSnapshot]] = {rid: {} for rid in release_ids}
    newest = (
        MetricSnapshot.objects.filter(
            scope=Scope.RELEASE, release=OuterRef("release"), key=OuterRef("key"), as_of__lte=before
        )
        .order_by("-as_of", "-id")
        .values("id")[:1]
    )
    qs = MetricSnapshot.objects.filter(
        scope=Scope.RELEASE, release_id__in=release_ids, as_of__lte=before
    ).filter(id=Subquery(newest))
    for snap in qs:
        out[snap.release_id][snap.key] = snap
    return out


def project_metrics_before(*, project_id: int, before: dt.datetime) -> dict[str, MetricSnapshot]:
    """The latest project-scope snapshot of each key at or before `before`, one query."""
    newest = (
        MetricSnapshot.objects.filter(
            scope=Scope.PROJECT, project=OuterRef("project"), key=OuterRef("key"), as_of__lte=before
        )
        .order_by("-as_of", "-id")
        .values("id")[:1]
    )
    qs = MetricSnapshot.objects.filter(scope=Scope.PROJECT, project_id=project_id, as_of__lte=before).filter(
        id=Subquery(newest)
    )
    return {snap.key: snap for snap in qs}


def metric_series(
    *,
    key: str,
    start: dt.datetime,
    end: dt.datetime,
    bucket: str = "day",
    release_id: int | None = None,
    project_id: int | None = None,
) -> list[dict]:
    """The trend of one metric: per day (or ISO week) the last snapshot taken in the bucket, one query.

    Returns [{"bucket": "YYYY-MM-DD", "as_of": iso, "value": v, "n": n, "details": {...}}] oldest first.
    """
    qs = MetricSnapshot.objects.filter(key=key, as_of__gte=start, as_of__lte=end)
    if release_id is not None:
        qs = qs.filter(scope=Scope.RELEASE, release_id=release_id)
    else:
        qs = qs.filter(scope=Scope.PROJECT, project_id=project_id)
    # Last snapshot of each day, chosen in the database.
    last_per_day = (
        qs.annotate(day=TruncDate("as_of")).values("day").annotate(last=Max("as_of")).values("last")
    )
    rows = list(
        qs.filter(as_of__in=Subquery(last_per_day)).order_by("as_of").values("as_of", "value", "n", "details")
    )
    points: dict[str, dict] = {}
    for row in rows:
        day = row["as_of"].date()
        if bucket == "week":
            day = day - dt.timedelta(days=day.weekday())
        points[day.isoformat()] = {
            "bucket": day.isoformat(),
            "as_of": row["as_of"].isoformat(),
            "value": row["value"],
            "n": row["n"],
            "details": row["details"],
        }
    return [points[k] for k in sorted(points)]


def active_alerts(*, project_ids=None, release_ids=None) -> QuerySet:
    """Alerts not cleared yet, newest first, with rule and release loaded."""
    qs = Alert.objects.filter(cleared_at__isnull=True).select_related("rule", "release", "project")
    if project_ids is not None:
        qs = qs.filter(project_id__in=list(project_ids))
    if release_ids is not None:
        qs = qs.filter(release_id__in=list(release_ids))
    return qs


def alert_rules_for(*, project) -> QuerySet:
    return AlertRule.objects.filter(project=project).select_related("owner").prefetch_related("webhooks")


def _row(key: str, *, value, n, unit, details, as_of, computed_at, definitions=None) -> dict:
    from .registry import REGISTRY

    definition = (definitions or REGISTRY)[key]
    return {
        "key": key,
        "label": definition.label,
        "scope": definition.scope,
        "unit": unit,
        "higher_is_better": definition.higher_is_better,
        "value": value,
        "n": n,
        "details": details,
        "as_of": as_of,
        "computed_at": computed_at,
    }


def release_metric_rows(*, release, as_of: dt.datetime | None = None) -> list[dict]:
    """Every scalar metric of the release (release and project scope) as rows for the API and pages.

    Without as_of: the latest snapshots, computed and stored on demand when the scope has none yet (so pages and
    the API work when no worker has run). With as_of: fresh values as of that instant, nothing stored.
    """
    from django.utils import timezone

    from . import services
    from .registry import PROJECT_KEYS, definitions_for

    definitions = definitions_for(release.project)
    release_keys = [k for k, d in definitions.items() if d.scope == "release" and not d.is_series]
    if as_of is not None:
        now = timezone.now()
        results = services.compute_for_release(release=release, as_of=as_of)
        return [
            _row(
                k,
                value=r.value,
                n=r.n,
                unit=r.unit,
                details=r.details,
                as_of=as_of,
                computed_at=now,
                definitions=definitions,
            )
            for k, r in results.items()
        ]
    snaps = latest_release_metrics(release_ids=[release.pk])[release.pk]
    if any(k not in snaps for k in release_keys):
        services.snapshot_release(release=release)
    if any(k not in snaps for k in PROJECT_KEYS):
        services.snapshot_project(project=release.project)
    snaps = latest_release_metrics(release_ids=[release.pk])[release.pk]
    return [
        _row(
            k,
            value=s.value,
            n=s.n,
            unit=definitions[k].unit,
            details=s.details,
            as_of=s.as_of,
            computed_at=s.computed_at,
            definitions=definitions,
        )
        for k in release_keys + list(PROJECT_KEYS)
        if (s := snaps.get(k)) is not None
    ]


def project_metric_rows(*, project) -> list[dict]:
    """The project's latest project-scope snapshots (computed and stored on demand when missing)."""
    from . import services
    from .registry import PROJECT_KEYS

    snaps = latest_project_metrics(project_ids=[project.pk]).get(project.pk, {})
    if any(k not in snaps for k in PROJECT_KEYS):
        services.snapshot_project(project=project)
        snaps = latest_project_metrics(project_ids=[project.pk]).get(project.pk, {})
    return [
        _row(
            k,
            value=s.value,
            n=s.n,
            unit=_unit(k),
            details=s.details,
            as_of=s.as_of,
            computed_at=s.computed_at,
        )
        for k in PROJECT_KEYS
        if (s := snaps.get(k)) is not None
    ]


def _unit(key: str) -> str:
    from .registry import REGISTRY

    return REGISTRY[key].unit if key in REGISTRY else ""
