"""Metric writes: computing a scope's metrics, storing snapshots, and scheduling coalesced recomputes.

Entry points for other apps:
- schedule_recompute(*, release_ids=(), project_ids=()): call after any change of evidence; coalesced, enqueued on
  commit, never raises when Redis is down (the request stays recorded in PendingRecompute).
- compute_for_release(*, release, keys=None, as_of=None): fresh values, nothing stored.
- register_after_release_recompute(listener): a layer above (gates) runs work after a release's recompute, in
  the same coalesced queue (live gate re-evaluation); the listener gets the release.
- register_policy_listener(listener): a layer above (gates, whose audit log is the project's) hears of every new
  policy version inside the transaction that saves it; the listener gets the version, the user and the policy
  in force before it.
- hold_lock(name): a named lock row held until the surrounding transaction ends (one job in flight per scope).
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from qualitygov.errors import ConflictError, DomainError
from qualitygov.faults import checkpoint
from releases.access import Action, authorize
from releases.models import ACTIVE_RELEASE_STATUSES, DEPLOYED_RELEASE_STATUSES, Project, Release

from .measure_metrics import measure_results
from .models import EvidenceWatermark, MetricSnapshot, PendingRecompute, PolicyVersion, RecomputeLock, Scope
from .policy import policy_for, policy_validate
from .project_metrics import project_metrics
from .registry import PROJECT_KEYS, RELEASE_KEYS, definitions_for
from .release_metrics import RELEASE_METRIC_FUNCTIONS
from .results import MetricResult
from .risk import release_risk_score

logger = logging.getLogger(__name__)

# Work that layers above run right after a release was recomputed from a pending request (gates re-evaluate the
# release's current gates there). Registered once in their AppConfig.ready(); this layer never imports them.
_AFTER_RELEASE_RECOMPUTE: list[Callable[[Release], None]] = []


def register_after_release_recompute(listener: Callable[[Release], None]) -> None:
    """Run `listener(release)` after every coalesced recompute of a release (idempotent per listener)."""
    if listener not in _AFTER_RELEASE_RECOMPUTE:
        _AFTER_RELEASE_RECOMPUTE.append(listener)


def _after_release_recompute(release: Release) -> None:
    for listener in _AFTER_RELEASE_RECOMPUTE:
        listener(release)


# Listeners of policy changes (the gates audit log records who changed the risk policy and when).
_POLICY_LISTENERS: list[Callable[[PolicyVersion, object, dict], None]] = []


def register_policy_listener(listener: Callable[[PolicyVersion, object, dict], None]) -> None:
    """Run `listener(version, by, previous)` inside the transaction of every saved policy version (idempotent);
    `previous` is the policy that was in force until then (the defaults, as version 0, before the first save)."""
    if listener not in _POLICY_LISTENERS:
        _POLICY_LISTENERS.append(listener)


def _unknown_keys(keys: Iterable[str], definitions: dict) -> list[str]:
    return [key for key in keys if key not in definitions]


def compute_release_scope(*, release: Release, keys: Iterable[str] | None = None, as_of: dt.datetime) -> dict:
    """Release-scope metrics of the release as of T: the contract's metrics, the measures (built-in and the
    project's custom keys, latest value at or before T), and the risk score under the policy in force at T."""
    definitions = definitions_for(release.project)
    release_keys = [k for k, d in definitions.items() if d.scope == "release" and not d.is_series]
    wanted = list(keys) if keys is not None else release_keys
    needed = set(wanted)
    policy = None
    if "release_risk_score" in needed:
        policy = policy_for(release.project, as_of=as_of)
        needed.update(policy["risk"])
    results: dict[str, MetricResult] = {}
    for key in RELEASE_KEYS:
        if key in needed and key in RELEASE_METRIC_FUNCTIONS:
            results[key] = RELEASE_METRIC_FUNCTIONS[key](release=release, as_of=as_of)
    measure_keys = [
        k
        for k in release_keys
        if k in needed and k not in RELEASE_METRIC_FUNCTIONS and k != "release_risk_score"
    ]
    results.update(
        measure_results(
            release=release,
            as_of=as_of,
            keys=measure_keys,
            units={k: definitions[k].unit for k in measure_keys},
        )
    )
    if policy is not None:
        results["release_risk_score"] = release_risk_score(policy=policy, indicators=results)
    return {key: results[key] for key in wanted if key in results}


def compute_for_release(
    *, release: Release, keys: Iterable[str] | None = None, as_of: dt.datetime | None = None
) -> dict[str, MetricResult]:
    """Fresh values of every metric (or `keys`) for the release as of T (default now); nothing is stored.

    Release-scope keys are computed for the release, project-scope keys for the release's project; `defect_flow`
    (a series) gives the net flow over the last 7 days with the daily buckets in details.
    """
    from .flow import defect_flow

    as_of = as_of or timezone.now()
    definitions = definitions_for(release.project)
    release_keys = [k for k, d in definitions.items() if d.scope == "release" and not d.is_series]
    wanted = list(keys) if keys is not None else release_keys + list(PROJECT_KEYS)
    unknown = _unknown_keys(wanted, definitions)
    if unknown:
        raise DomainError(
            f"Unknown metric key(s): {', '.join(unknown)}.", field="keys", code="unknown_metric"
        )
    results = compute_release_scope(
        release=release, keys=[k for k in wanted if k in release_keys], as_of=as_of
    )
    project_keys = [k for k in wanted if k in PROJECT_KEYS]
    if project_keys:
        results.update(project_metrics(project=release.project, as_of=as_of, keys=project_keys))
    if "defect_flow" in wanted:
        buckets = defect_flow(release=release, start=as_of - dt.timedelta(days=7), end=as_of, bucket="day")
        net = sum(b["net"] for b in buckets)
        results["defect_flow"] = MetricResult(
            "defect_flow", net, len(buckets), "series", {"buckets": buckets}
        )
    return {key: results[key] for key in wanted if key in results}


def _upsert(*, project: Project, release: Release | None, results, as_of, computed_at) -> int:
    """Store results as snapshots at as_of, of the release's scope when a release is given, else of the project's;
    recomputing the same instant replaces the values."""
    scope = Scope.RELEASE if release is not None else Scope.PROJECT
    lookup = {"scope": scope, "project": project, "release": release, "as_of": as_of}
    for result in results.values():
        MetricSnapshot.objects.update_or_create(
            **lookup,
            key=result.key,
            defaults={
                "value": result.value,
                "n": result.n,
                "details": result.details,
                "computed_at": computed_at,
            },
        )
    return len(results)


def hold_lock(name: str) -> None:
    """Hold the named lock row until the surrounding transaction ends (waits while another holds it)."""
    RecomputeLock.objects.get_or_create(name=name)
    RecomputeLock.objects.select_for_update().get(name=name)


_lock = hold_lock


def snapshot_release(*, release: Release, as_of: dt.datetime | None = None) -> dict[str, MetricResult]:
    """Compute and store every release-scope metric of the release as of T, under the release's lock, then check
    the project's alert rules against the new values."""
    from .alerts import alerts_evaluate

    now = timezone.now()
    as_of = as_of or now
    with transaction.atomic():
        _lock(f"release:{release.pk}")
        results = compute_release_scope(release=release, as_of=as_of)
        _upsert(project=release.project, release=release, results=results, as_of=as_of, computed_at=now)
        checkpoint("metrics.snapshot_release.stored")
        snapshot_release_date_score(release=release)
        if as_of >= now - dt.timedelta(minutes=1):
            alerts_evaluate(project=release.project, release=release, results=results)
    return results


def snapshot_release_date_score(*, release: Release) -> MetricResult | None:
    """Store the risk score a deployed release had at its release date (as of its actual_release_date, under the
    policy in force then), unless that snapshot exists: the calibration of the risk score reads it
    (metrics.calibration). One query when it exists; None for a release not deployed or already stored."""
    if release.status not in DEPLOYED_RELEASE_STATUSES or release.actual_release_date is None:
        return None
    at = release.actual_release_date
    if MetricSnapshot.objects.filter(
        scope=Scope.RELEASE, release=release, key="release_risk_score", as_of=at
    ).exists():
        return None
    results = compute_release_scope(release=release, keys=["release_risk_score"], as_of=at)
    _upsert(project=release.project, release=release, results=results, as_of=at, computed_at=timezone.now())
    return results["release_risk_score"]


def backfill_release_scores(*, project: Project | None = None) -> int:
    """Store the release-date risk score of every deployed release (of one project, or all) that has none;
    returns how many were stored. Each is computed from the stored history as of the release instant."""
    releases = Release.objects.filter(
        status__in=DEPLOYED_RELEASE_STATUSES, actual_release_date__isnull=False
    ).select_related("project")
    if project is not None:
        releases = releases.filter(project=project)
    stored = 0
    for release in releases.order_by("actual_release_date", "id"):
        with transaction.atomic():
            _lock(f"release:{release.pk}")
            stored += snapshot_release_date_score(release=release) is not None
    return stored


def snapshot_project(*, project: Project, as_of: dt.datetime | None = None) -> dict[str, MetricResult]:
    """Compute and store the project-scope metrics as of T under the project's lock, then check alert rules."""
    from .alerts import alerts_evaluate

    now = timezone.now()
    as_of = as_of or now
    with transaction.atomic():
        _lock(f"project:{project.pk}")
        results = project_metrics(project=project, as_of=as_of)
        _upsert(project=project, release=None, results=results, as_of=as_of, computed_at=now)
        if as_of >= now - dt.timedelta(minutes=1):
            alerts_evaluate(project=project, release=None, results=results)
    return results


def schedule_recompute(*, release_ids: Iterable[int] = (), project_ids: Iterable[int] = ()) -> None:
    """Ask for a recompute of these releases (and their projects) and projects.

    The request is recorded as PendingRecompute rows (one per scope, so bursts coalesce) inside the caller's
    transaction; after commit one delayed task is enqueued. If the broker is down nothing is raised: the rows stay
    and the beat task `metrics.tasks.sweep_pending_recomputes` picks them up.
    """
    release_ids = {int(pk) for pk in release_ids if pk is not None}
    project_ids = {int(pk) for pk in project_ids if pk is not None}
    releases = (
        list(Release.objects.filter(pk__in=release_ids).values_list("pk", "project_id"))
        if release_ids
        else []
    )
    project_ids |= {project_id for _, project_id in releases}
    if not releases and not project_ids:
        return
    now = timezone.now()
    rows = [
        PendingRecompute(scope=Scope.RELEASE, project_id=pid, release_id=rid, requested_at=now)
        for rid, pid in releases
    ]
    rows += [PendingRecompute(scope=Scope.PROJECT, project_id=pid, requested_at=now) for pid in project_ids]
    PendingRecompute.objects.bulk_create(rows, ignore_conflicts=True)
    # Rows that already existed get the new time, so a recompute running right now does not swallow this request.
    mine = Q(release_id__in=[rid for rid, _ in releases]) | Q(scope=Scope.PROJECT, project_id__in=project_ids)
    PendingRecompute.objects.filter(mine).update(requested_at=now)
    # The evidence watermark (the one source of truth for "newer evidence exists"): snapshots older than this no
    # longer answer for "now", and gate evaluations that saw an older one are shown as stale.
    EvidenceWatermark.objects.bulk_create(
        [EvidenceWatermark(scope=r.scope, project_id=r.project_id, release_id=r.release_id) for r in rows],
        ignore_conflicts=True,
    )
    EvidenceWatermark.objects.filter(mine).update(changed_at=now)
    transaction.on_commit(_enqueue_pending)


def recompute_request(*, release: Release, by) -> None:
    """A member asks for a recompute of the release's and its project's metrics (Action.EVALUATE_GATES); it is
    scheduled like any other (coalesced, after commit)."""
    authorize(by, release.project_id, Action.EVALUATE_GATES)
    schedule_recompute(release_ids=[release.pk])


def _enqueue_pending() -> None:
    """Enqueue one delayed run of the pending recomputes; many requests inside the delay share it."""
    from django.core.cache import cache

    from .tasks import run_pending_recomputes

    delay = getattr(settings, "QUALITYGOV_RECOMPUTE_DELAY", 10)
    try:
        # With a broker, requests inside the delay share one queued run. Eager (no broker) runs right away each
        # time: there is no queued run to share, and no beat to sweep up what a skipped request left behind.
        eager = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
        if delay and not eager and not cache.add("metrics:recompute-enqueued", 1, timeout=delay):
            return
        run_pending_recomputes.apply_async(countdown=delay)
    except Exception:  # the broker or cache being down must never break the caller; the sweep catches up
        logger.warning(
            "Could not enqueue the metric recompute; the sweep task will pick it up.", exc_info=True
        )


def run_pending_recomputes(*, limit: int | None = None) -> int:
    """Recompute every scope with a pending request (releases first, then projects); returns how many were done.

    A row is deleted only if it was not requested again while the recompute ran, so a late event is never lost.
    """
    done = 0
    pending = PendingRecompute.objects.select_related("release__project", "project").order_by(
        "-scope", "requested_at"
    )
    if limit:
        pending = pending[:limit]
    for row in list(pending):
        if row.scope == Scope.RELEASE:
            snapshot_release(release=row.release)
            # Then what depends on the fresh figures (live gate re-evaluation), before the request is let go.
            _after_release_recompute(row.release)
        else:
            snapshot_project(project=row.project)
        # Only after success, and only if nobody asked again meanwhile: a failed run leaves the request for a retry.
        PendingRecompute.objects.filter(pk=row.pk, requested_at=row.requested_at).delete()
        done += 1
    return done


def snapshot_all_active(*, as_of: dt.datetime | None = None) -> int:
    """Snapshot every active release and every project (the daily beat job); returns the number of scopes."""
    count = 0
    for release in Release.objects.filter(status__in=ACTIVE_RELEASE_STATUSES).select_related("project"):
        snapshot_release(release=release, as_of=as_of)
        count += 1
    for project in Project.objects.all():
        snapshot_project(project=project, as_of=as_of)
        count += 1
    return count


def recompute_now(*, release_ids: Iterable[int] = (), project_ids: Iterable[int] = ()) -> None:
    """Synchronous recompute of the given scopes (the task body): each release, then each involved project."""
    project_ids = set(project_ids)
    for release in Release.objects.filter(pk__in=list(release_ids)).select_related("project"):
        snapshot_release(release=release)
        _after_release_recompute(release)
        project_ids.add(release.project_id)
    for project in Project.objects.filter(pk__in=project_ids):
        snapshot_project(project=project)


def backfill_scopes(
    *, project: Project | None = None, days: int = 30
) -> list[tuple[Project, Release | None]]:
    """The scopes backfill_metrics rebuilds: every project (or one), and its active releases plus the releases
    deployed in the period."""
    end = timezone.now()
    start = end - dt.timedelta(days=days)
    projects = [project] if project else list(Project.objects.order_by("key"))
    scopes: list[tuple[Project, Release | None]] = []
    for p in projects:
        scopes.append((p, None))
        releases = Release.objects.filter(project=p).filter(
            Q(status__in=ACTIVE_RELEASE_STATUSES) | Q(actual_release_date__gte=start)
        )
        scopes += [(p, r) for r in releases.select_related("project").order_by("created_at", "id")]
    return scopes


def backfill_days(*, days: int) -> list[dt.datetime]:
    """The instants of a backfill: the end of each of the past `days` days (UTC, yesterday the last), oldest first.
    Today is not over: `snapshot_all_active` takes the snapshot as of now after a backfill."""
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return [today - dt.timedelta(days=offset - 1, microseconds=1) for offset in range(days, 0, -1)]


def backfill_scope(*, project: Project, release: Release | None, as_of: dt.datetime) -> None:
    """Store the snapshot of one scope as of one past instant, computed from the stored history."""
    if release is None:
        snapshot_project(project=project, as_of=as_of)
    else:
        snapshot_release(release=release, as_of=as_of)


# --- Risk policy -----------------------------------------------------------------------------------------------


def policy_update(
    *, project: Project, data: dict, by, comment: str = "", expected_version: int | None = None
) -> PolicyVersion:
    """Save a new version of the project's metric policy (admins): validated, numbered, attributed and timed
    (the version table is the audit trail), then the project's active releases are recomputed, so their risk
    score follows. Snapshots already stored keep the score of the policy they were computed with, and a
    snapshot as of a past T uses the version in force at T.

    ``expected_version`` guards against overwriting a concurrent edit (409).
    """
    authorize(by, project, Action.MANAGE_GATES)
    cleaned = policy_validate(data, definitions=definitions_for(project))
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise DomainError("The comment is longer than 500 characters.", field="comment")
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        current = PolicyVersion.objects.filter(project=project).order_by("-version").first()
        number = current.version if current else 0
        previous = current.policy if current else policy_for(project)
        if expected_version is not None and int(expected_version) != number:
            raise ConflictError(
                f"The policy was changed meanwhile (now version {number}); reload and retry.",
                field="expected_version",
            )
        saved = PolicyVersion.objects.create(
            project=project,
            version=number + 1,
            policy=cleaned,
            comment=comment,
            created_by=by if getattr(by, "pk", None) else None,
        )
        for listener in _POLICY_LISTENERS:
            listener(saved, by, previous)
        active = Release.objects.filter(project=project, status__in=ACTIVE_RELEASE_STATUSES).values_list(
            "pk", flat=True
        )
        schedule_recompute(release_ids=list(active), project_ids=[project.pk])
    return saved
