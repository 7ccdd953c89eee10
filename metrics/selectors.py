"""Metric reads: latest snapshots for many scopes in a bounded number of queries, trend series, alerts."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncDate

from releases.models import Release

from .models import Alert, AlertRule, EvidenceWatermark, MetricSnapshot, Scope
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


def drilldown_url(
    *, key: str, release_id: int | None, as_of: dt.datetime, project_key: str | None = None
) -> str | None:
    """The API list of exactly what the metric counts, with the same as_of (None where there is no list)."""
    from urllib.parse import urlencode

    from .drilldown import PARTS, PROJECT_PARTS

    query = urlencode({"as_of": as_of.isoformat()})
    if release_id is None:
        if project_key is None:
            return None
        if key in PROJECT_PARTS:
            return f"/api/v1/projects/{project_key}/metrics/{key}/items/?{query}"
        return f"/api/v1/projects/{project_key}/metrics/?{query}"  # stability_index: the parts it is made of
    if key in PARTS:
        return f"/api/v1/releases/{release_id}/metrics/{key}/items/?{query}"
    if key == "release_risk_score":  # the indicators the score is made of, as of the same instant
        return f"/api/v1/releases/{release_id}/metrics/?{query}"
    # A measure (built-in or custom key): the uploaded measures of the release, the latest at or before T.
    return f"/api/v1/releases/{release_id}/measures/?{query}"


def project_as_of_now(*, project) -> dt.datetime:
    """The instant "now" means for the project's figures: its current snapshot's as_of, else now."""
    from django.utils import timezone

    snaps = latest_project_metrics(project_ids=[project.pk]).get(project.pk, {})
    marks = evidence_watermarks(project_ids=[project.pk])
    if snapshots_current(snaps, PROJECT_KEYS, marks.get((Scope.PROJECT, project.pk))):
        return snaps["stability_index"].as_of
    return timezone.now()


def release_as_of_now(*, release) -> dt.datetime:
    """The instant "now" means for the release's figures: its current snapshot's as_of, else now."""
    from django.utils import timezone

    from .registry import RELEASE_KEYS

    snaps = latest_release_metrics(release_ids=[release.pk])[release.pk]
    marks = evidence_watermarks(release_ids=[release.pk])
    if snapshots_current(snaps, RELEASE_KEYS, marks.get((Scope.RELEASE, release.pk))):
        return snaps["release_risk_score"].as_of if "release_risk_score" in snaps else timezone.now()
    return timezone.now()


def _row(
    key: str,
    measured,
    *,
    unit,
    as_of,
    computed_at,
    source: str,
    updating: bool,
    release_id=None,
    project_key=None,
    definitions=None,
) -> dict:
    """One metric's row for pages and the API. `measured` is a MetricResult computed now or a stored
    MetricSnapshot: both carry the value, n and details."""
    from .registry import REGISTRY

    definition = (definitions or REGISTRY)[key]
    return {
        "key": key,
        "label": definition.label,
        "scope": definition.scope,
        "unit": unit,
        "higher_is_better": definition.higher_is_better,
        "value": measured.value,
        "n": measured.n,
        "details": measured.details,
        "as_of": as_of,
        "computed_at": computed_at,
        "source": source,
        "updating": updating,
        "drilldown": drilldown_url(
            key=key,
            release_id=release_id if definition.scope == "release" else None,
            project_key=project_key,
            as_of=as_of,
        ),
    }


def evidence_watermarks(*, release_ids=(), project_ids=()) -> dict[tuple[str, int], dt.datetime]:
    """{("release", id) | ("project", id): when its evidence last changed}, one query."""
    from django.db.models import Q

    rows = EvidenceWatermark.objects.filter(
        Q(scope=Scope.RELEASE, release_id__in=list(release_ids))
        | Q(scope=Scope.PROJECT, project_id__in=list(project_ids))
    ).values_list("scope", "release_id", "project_id", "changed_at")
    return {
        (scope, release_id if scope == Scope.RELEASE else project_id): at
        for scope, release_id, project_id, at in rows
    }


def release_watermark_subquery(release_ref: str = "release_id"):
    """A subquery of the release's evidence watermark (when its evidence last changed, or NULL), to annotate rows
    that point at a release (``OuterRef(release_ref)``) without another query."""
    from django.db.models import OuterRef, Subquery

    return Subquery(
        EvidenceWatermark.objects.filter(scope=Scope.RELEASE, release_id=OuterRef(release_ref)).values(
            "changed_at"
        )[:1]
    )


def pending_recomputes(*, release_ids=(), project_ids=()) -> set[tuple[str, int]]:
    """{("release", id) | ("project", id)} of the scopes with a recompute queued, one query."""
    from django.db.models import Q

    from .models import PendingRecompute

    rows = PendingRecompute.objects.filter(
        Q(scope=Scope.RELEASE, release_id__in=list(release_ids))
        | Q(scope=Scope.PROJECT, project_id__in=list(project_ids))
    ).values_list("scope", "release_id", "project_id")
    return {
        (scope, release_id if scope == Scope.RELEASE else project_id)
        for scope, release_id, project_id in rows
    }


def snapshots_current(snaps: dict, keys, changed_at: dt.datetime | None) -> bool:
    """Stored snapshots answer for "now" only while every key has one and no evidence changed after them."""
    if any(k not in snaps for k in keys):
        return False
    return changed_at is None or all(snaps[k].as_of >= changed_at for k in keys)


def _fresh_rows(results: dict, *, as_of, now, updating: bool = False, **where) -> list[dict]:
    """Rows of metric results computed now; `where` (release_id, project_key, definitions) as _row takes it."""
    return [
        _row(k, r, unit=r.unit, as_of=as_of, computed_at=now, source="fresh", updating=updating, **where)
        for k, r in results.items()
    ]


def _snapshot_rows(snaps: dict, keys, **where) -> list[dict]:
    """Rows of the stored snapshots of `keys` (those there are); `where` as in _fresh_rows."""
    units = {k: d.unit for k, d in (where.get("definitions") or {}).items()}
    return [
        _row(
            k,
            s,
            unit=units[k] if k in units else _unit(k),
            as_of=s.as_of,
            computed_at=s.computed_at,
            source="snapshot",
            updating=False,
            **where,
        )
        for k in keys
        if (s := snaps.get(k)) is not None
    ]


def release_metric_rows(*, release, as_of: dt.datetime | None = None) -> list[dict]:
    """Every scalar metric of the release (release and project scope) as rows for the API and pages.

    Without as_of the answer is for now: the latest snapshots while they are current (every key stored and no
    evidence changed after them), else values computed fresh as of now (nothing is written; `updating` says a
    recompute is queued). With as_of: fresh values as of that instant, nothing stored.
    """
    from django.utils import timezone

    from . import services
    from .project_metrics import project_metrics
    from .registry import PROJECT_KEYS, RELEASE_KEYS, definitions_for

    now = timezone.now()
    # The contract's metrics, the measures and the project's custom measure keys.
    definitions = definitions_for(release.project)
    release_keys = [k for k, d in definitions.items() if d.scope == "release" and not d.is_series]
    ids = {"release_id": release.pk, "project_key": release.project.key, "definitions": definitions}
    if as_of is not None:
        results = services.compute_for_release(release=release, as_of=as_of)
        return _fresh_rows(results, as_of=as_of, now=now, **ids)
    snaps = latest_release_metrics(release_ids=[release.pk])[release.pk]
    scopes = {"release_ids": [release.pk], "project_ids": [release.project_id]}
    marks = evidence_watermarks(**scopes)
    rows = []
    if snapshots_current(snaps, RELEASE_KEYS, marks.get((Scope.RELEASE, release.pk))):
        rows += _snapshot_rows(snaps, release_keys, **ids)
    else:
        pending = pending_recomputes(**scopes)
        results = services.compute_release_scope(release=release, as_of=now)
        updating = (Scope.RELEASE, release.pk) in pending
        rows += _fresh_rows(results, as_of=now, now=now, updating=updating, **ids)
    if snapshots_current(snaps, PROJECT_KEYS, marks.get((Scope.PROJECT, release.project_id))):
        rows += _snapshot_rows(snaps, PROJECT_KEYS, project_key=release.project.key)
    else:
        pending = pending_recomputes(**scopes)
        results = project_metrics(project=release.project, as_of=now)
        updating = (Scope.PROJECT, release.project_id) in pending
        rows += _fresh_rows(results, as_of=now, now=now, updating=updating, project_key=release.project.key)
    return rows


def project_metric_rows(*, project, as_of: dt.datetime | None = None) -> list[dict]:
    """The project's project-scope metrics: as of T when given (fresh), else for now (current snapshots, or fresh
    values when evidence changed after them; nothing is written)."""
    from django.utils import timezone

    from .project_metrics import project_metrics
    from .registry import PROJECT_KEYS

    now = timezone.now()
    if as_of is not None:
        results = project_metrics(project=project, as_of=as_of)
        return _fresh_rows(results, as_of=as_of, now=now, project_key=project.key)
    snaps = latest_project_metrics(project_ids=[project.pk]).get(project.pk, {})
    marks = evidence_watermarks(project_ids=[project.pk])
    if snapshots_current(snaps, PROJECT_KEYS, marks.get((Scope.PROJECT, project.pk))):
        return _snapshot_rows(snaps, PROJECT_KEYS, project_key=project.key)
    updating = (Scope.PROJECT, project.pk) in pending_recomputes(project_ids=[project.pk])
    results = project_metrics(project=project, as_of=now)
    return _fresh_rows(results, as_of=now, now=now, updating=updating, project_key=project.key)


def _unit(key: str) -> str:
    from .registry import REGISTRY

    return REGISTRY[key].unit if key in REGISTRY else ""


@dataclass
class Figure:
    """A metric value as pages show it: duck-types MetricSnapshot (key, value, n, details, as_of, computed_at) and
    says where it came from (a current snapshot or computed for this request) and whether a recompute is queued."""

    key: str
    value: float | None
    n: int
    details: dict
    as_of: dt.datetime
    computed_at: dt.datetime
    source: str = "fresh"
    updating: bool = False


def _figures(results: dict, *, now: dt.datetime, updating: bool) -> dict[str, Figure]:
    return {
        k: Figure(k, r.value, r.n, r.details, as_of=now, computed_at=now, updating=updating)
        for k, r in results.items()
    }


def current_release_figures(*, releases) -> dict[int, dict]:
    """{release_id: {key: MetricSnapshot | Figure}} for now: each release's (and its project's) latest snapshots
    while they are current, else values computed fresh as of now (marked `updating` while a recompute is queued).
    Nothing is written. Three queries plus a fresh computation only for scopes whose evidence changed."""
    from django.utils import timezone

    from . import services
    from .project_metrics import project_metrics
    from .registry import RELEASE_KEYS

    releases = list(releases)
    ids = [r.pk for r in releases]
    project_ids = {r.project_id for r in releases}
    snaps = latest_release_metrics(release_ids=ids)
    marks = evidence_watermarks(release_ids=ids, project_ids=project_ids)
    stale_releases = [
        r
        for r in releases
        if not snapshots_current(snaps[r.pk], RELEASE_KEYS, marks.get((Scope.RELEASE, r.pk)))
    ]
    stale_projects = {
        r.project_id: r.project
        for r in releases
        if not snapshots_current(snaps[r.pk], PROJECT_KEYS, marks.get((Scope.PROJECT, r.project_id)))
    }
    if not stale_releases and not stale_projects:
        return snaps
    now = timezone.now()
    pending = pending_recomputes(release_ids=[r.pk for r in stale_releases], project_ids=list(stale_projects))
    project_figures = {
        pid: _figures(
            project_metrics(project=project, as_of=now), now=now, updating=(Scope.PROJECT, pid) in pending
        )
        for pid, project in stale_projects.items()
    }
    for release in stale_releases:
        results = services.compute_release_scope(release=release, as_of=now)
        snaps[release.pk].update(_figures(results, now=now, updating=(Scope.RELEASE, release.pk) in pending))
    for release in releases:
        snaps[release.pk].update(project_figures.get(release.project_id, {}))
    return snaps
