"""Hand-built histories for the metric tests: defects with explicit transitions, test results, incidents."""

import datetime as dt

from defects.models import DefectTransition
from metrics.policy import DEFAULT_POLICY
from tests import factories as f

T0 = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
assert DEFAULT_POLICY["window_days"] == 90


def defect(release, *, created, moves=(), severity="major", env="test", project=None):
    """A defect found in `release`, created at `created` ('' -> new), then each (to, at, resolution) move.

    The stored status/resolution is the last move's, as the defects service would leave it.
    """
    d = f.DefectFactory(
        project=project or release.project,
        found_in_release=release,
        created_at=created,
        severity=severity,
        found_in_environment=env,
    )
    status, resolution = "new", ""
    for to, at, res in moves:
        DefectTransition.objects.create(defect=d, from_status=status, to_status=to, at=at, resolution=res)
        status, resolution = to, res
    if moves:
        type(d).objects.filter(pk=d.pk).update(status=status, resolution=resolution)
    return d


def result(release, case, *, status, at, revision="", flaky=False, run=None):
    run = run or f.TestRunFactory(release=release, revision=revision, started_at=at, finished_at=at)
    return f.TestResultFactory(
        run=run, release=release, test_case=case, status=status, finished_at=at, flaky=flaky
    )


def incident(project, *, started, restored=None, release=None):
    return f.IncidentFactory(
        project=project, release=release, started_at=started, detected_at=started, restored_at=restored
    )
