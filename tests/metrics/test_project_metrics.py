"""Project metrics (window W = 90 days) against values computed on paper."""

import pytest

from metrics.project_metrics import change_failure_rate, mttr_hours, stability_index
from releases.models import Release
from tests import factories as f

from .histories import DAY, HOUR, T0, defect, incident

pytestmark = pytest.mark.django_db


def deployed(project, version, *, at, hotfix_for=None):
    rel = f.ReleaseFactory(
        project=project, version=version, status="released", actual_release_date=at, hotfix_for=hotfix_for
    )
    Release.objects.filter(pk=rel.pk).update(created_at=at - DAY)
    return rel


@pytest.fixture
def deployments(project):
    r1 = deployed(project, "1.0", at=T0 - 30 * DAY)  # has incident I1 -> failed
    r2 = deployed(project, "1.1", at=T0 - 20 * DAY)  # has hotfix 1.1.1 -> failed
    deployed(project, "1.1.1", at=T0 - 19 * DAY, hotfix_for=r2)  # clean
    deployed(project, "1.2", at=T0 - 10 * DAY)  # clean
    old = deployed(project, "0.9", at=T0 - 100 * DAY)  # outside W
    late_hotfix = deployed(
        project, "1.2.1", at=T0 + DAY
    )  # hotfix created after T0: not seen, not deployed in W
    Release.objects.filter(pk=late_hotfix.pk).update(
        created_at=T0 + HOUR, hotfix_for=Release.objects.get(version="1.2")
    )
    # I1: 2h on 1.0; I2: 6h; I3 open since T0-1d; I4 restored before W; I5 restored only after T0 (open at T0).
    incident(project, started=T0 - 29 * DAY, restored=T0 - 29 * DAY + 2 * HOUR, release=r1)
    incident(project, started=T0 - 5 * DAY, restored=T0 - 5 * DAY + 6 * HOUR)
    incident(project, started=T0 - DAY)
    incident(project, started=T0 - 96 * DAY, restored=T0 - 95 * DAY, release=old)
    incident(project, started=T0 - HOUR, restored=T0 + HOUR)


def test_change_failure_rate_counts_incidents_and_hotfixes(deployments, project):
    r = change_failure_rate(project=project, as_of=T0)
    # deployed in W: 1.0, 1.1, 1.1.1, 1.2 = 4; failed: 1.0 (incident), 1.1 (hotfix) = 2 -> 50%
    assert (r.value, r.n) == (50.0, 4)


def test_mttr_reports_median_p90_and_open_incidents(deployments, project):
    r = mttr_hours(project=project, as_of=T0)
    # restored in W by T0: I1 2h, I2 6h -> mean 4, median 4, p90 2 + 0.9 * 4 = 5.6
    assert (r.value, r.n) == (4.0, 2)
    assert r.details["median"] == 4.0
    assert r.details["p90"] == pytest.approx(5.6, abs=0.01)
    # open at T0: I3 (24h old) and I5 (restored only after T0)
    assert r.details["open_incidents"] == 2
    assert r.details["oldest_open_age_hours"] == 24.0


def test_stability_index_combines_parts_with_policy_weights(deployments, project, release):
    # defects of the project created in W: A (fixed after a reopen), B production open, C duplicate
    defect(
        release,
        created=T0 - 10 * DAY,
        moves=[
            ("resolved", T0 - 9 * DAY, "fixed"),
            ("reopened", T0 - 8 * DAY, ""),
            ("resolved", T0 - 7 * DAY, "fixed"),
        ],
    )
    defect(release, created=T0 - 3 * DAY, env="production")
    defect(release, created=T0 - 3 * DAY, env="production", moves=[("resolved", T0 - 2 * DAY, "duplicate")])
    r = stability_index(project=project, as_of=T0)
    # CFR 50% -> 0.5; leakage: valid A (test), B (production) -> 50% -> 0.5;
    # reopen: resolved once A, reopened A -> 100% -> 0; restore: min(1, 24 / 4) = 1
    # 100 * (0.4*0.5 + 0.3*0.5 + 0.15*0 + 0.15*1) / 1.0 = 50
    assert r.value == 50.0
    assert r.details["parts"] == {"cfr": 0.5, "leakage": 0.5, "reopen": 0.0, "restore": 1.0}


def test_stability_index_renormalises_weights_of_missing_parts(project):
    # given one clean and one failed deployment, no defects, no incidents
    r1 = deployed(project, "1.0", at=T0 - 5 * DAY)
    deployed(project, "1.1", at=T0 - 4 * DAY)
    incident(project, started=T0 - 3 * DAY, restored=T0 - 3 * DAY + 48 * HOUR, release=r1)
    r = stability_index(project=project, as_of=T0)
    # CFR 50% -> 0.5; leakage and reopen missing; restore = min(1, 24/48) = 0.5
    # 100 * (0.4*0.5 + 0.15*0.5) / (0.4 + 0.15) = 100 * 0.275 / 0.55 = 50
    assert r.value == 50.0
    assert r.details["parts"]["leakage"] is None


def test_stability_index_uses_project_target_mttr(project):
    project.metric_policy = {
        "target_mttr_hours": 12,
        "stability_weights": {"cfr": 0, "leakage": 0, "reopen": 0},
    }
    project.save()
    incident(project, started=T0 - 3 * DAY, restored=T0 - 3 * DAY + 48 * HOUR)
    # only restore counts: min(1, 12 / 48) = 0.25 -> 25
    assert stability_index(project=project, as_of=T0).value == 25.0


def test_empty_project_gives_null_rates(project):
    assert change_failure_rate(project=project, as_of=T0).value is None
    r = mttr_hours(project=project, as_of=T0)
    assert (r.value, r.n, r.details["open_incidents"]) == (None, 0, 0)
    # no incidents: restore counts as 1, every other part is missing -> 100
    assert stability_index(project=project, as_of=T0).value == 100.0


def test_an_ongoing_outage_lowers_the_stability_index(project):
    # an incident open for 72 hours counts with its age so far: restore = min(1, 24 / 72); nothing else has data
    incident(project, started=T0 - 3 * DAY)
    r = stability_index(project=project, as_of=T0)
    assert r.details["parts"]["restore"] == round(24 / 72, 4)
    assert r.value == round(100 * 24 / 72, 2)
    # with a restored incident of 2 hours beside it: mean (2 + 72) / 2 = 37 hours
    incident(project, started=T0 - 10 * DAY, restored=T0 - 10 * DAY + 2 * HOUR)
    assert stability_index(project=project, as_of=T0).details["parts"]["restore"] == round(24 / 37, 4)
