"""A small but lively history for the dashboard screenshots: 30 days of defects, runs and incidents."""

import datetime as dt
import random

from django.utils import timezone

from defects.models import DefectTransition
from metrics import services
from releases.models import Release
from tests import factories as f

SEVERITIES = ["blocker", "critical", "major", "major", "minor", "minor", "trivial"]


def build_demo(project, release, *, days: int = 30, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = timezone.now()
    start = now - dt.timedelta(days=days)
    for _ in range(45):
        created = start + dt.timedelta(hours=rng.randint(0, days * 24 - 30))
        d = f.DefectFactory(
            project=project,
            found_in_release=release,
            created_at=created,
            severity=rng.choice(SEVERITIES),
            found_in_environment=rng.choice(["test", "test", "staging", "production"]),
        )
        status, resolution, at = "new", "", created
        for to, res in (("in_progress", ""), ("resolved", "fixed"), ("reopened", ""), ("resolved", "fixed")):
            at = at + dt.timedelta(hours=rng.randint(4, 90))
            if at >= now or rng.random() < 0.25 or (to == "reopened" and rng.random() < 0.7):
                break
            DefectTransition.objects.create(defect=d, from_status=status, to_status=to, at=at, resolution=res)
            status, resolution = to, res
        type(d).objects.filter(pk=d.pk).update(status=status, resolution=resolution)
    cases = [f.TestCaseFactory(project=project) for _ in range(12)]
    reqs = [f.RequirementFactory(project=project) for _ in range(8)]
    for i, req in enumerate(reqs):
        f.in_scope(req, release)
        if i < 6:
            f.cover(req, cases[i], cases[i + 6])
    for r in range(10):
        at = start + dt.timedelta(days=3 * r + 1)
        run = f.TestRunFactory(release=release, started_at=at, finished_at=at, revision=f"rev{r}")
        passed = failed = 0
        for case in cases:
            ok = rng.random() < 0.6 + r * 0.04
            f.TestResultFactory(
                run=run, release=release, test_case=case, status="passed" if ok else "failed", finished_at=at
            )
            passed, failed = passed + ok, failed + (not ok)
        type(run).objects.filter(pk=run.pk).update(tests=len(cases), passed=passed, failed=failed)
    for v, ago in (("2.1.0", 80), ("2.2.0", 50), ("2.3.0", 20)):
        rel = f.ReleaseFactory(
            project=project, version=v, status="released", actual_release_date=now - dt.timedelta(days=ago)
        )
        Release.objects.filter(pk=rel.pk).update(created_at=now - dt.timedelta(days=ago + 10))
        if v != "2.2.0":
            started = now - dt.timedelta(days=ago - 2)
            f.IncidentFactory(
                project=project,
                release=rel,
                started_at=started,
                detected_at=started,
                restored_at=started + dt.timedelta(hours=rng.randint(2, 30)),
            )
    f.IncidentFactory(
        project=project,
        release=release,
        started_at=now - dt.timedelta(hours=5),
        detected_at=now - dt.timedelta(hours=4),
        title="Checkout latency spike",
    )
    for as_of in services.backfill_days(days=days):
        for proj, rel in services.backfill_scopes(project=project, days=days):
            services.backfill_scope(project=proj, release=rel, as_of=as_of)
    services.snapshot_release(release=release)
    services.snapshot_project(project=project)
