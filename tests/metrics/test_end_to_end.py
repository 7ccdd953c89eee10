"""End to end through the other apps' services: evidence changes schedule a recompute that refreshes snapshots."""

import pytest

from metrics.models import MetricSnapshot
from metrics.selectors import latest_release_metrics

pytestmark = pytest.mark.django_db


def latest(release, key):
    return latest_release_metrics(release_ids=[release.pk])[release.pk][key].value


def test_defect_service_changes_reach_the_snapshots(release, django_capture_on_commit_callbacks, qa):
    from defects.services import defect_create, defect_transition

    # when a blocker is reported through the defects service (eager Celery runs the recompute on commit)
    with django_capture_on_commit_callbacks(execute=True):
        d = defect_create(
            project=release.project,
            title="Card declined",
            by=qa,
            severity="blocker",
            found_in_release=release,
        )
    # then the snapshots already count it
    assert latest(release, "open_defects") == 1
    assert latest(release, "blocking_open_defects") == 1
    # when it is fixed
    with django_capture_on_commit_callbacks(execute=True):
        defect_transition(defect=d, to="resolved", by=qa, resolution="fixed")
    assert latest(release, "open_defects") == 0
    assert latest(release, "defect_closures_7d") == 1
    assert MetricSnapshot.objects.filter(scope="project", key="stability_index").exists()


def test_incident_service_changes_reach_the_project_snapshots(
    release, django_capture_on_commit_callbacks, manager
):
    import datetime as dt

    from django.utils import timezone

    from incidents.services import incident_create, incident_restore

    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_create(
            project=release.project,
            title="Outage",
            by=manager,
            release=release,
            started_at=timezone.now() - dt.timedelta(hours=3),
        )
    mttr = latest_release_metrics(release_ids=[release.pk])[release.pk]["mttr_hours"]
    assert (mttr.value, mttr.details["open_incidents"]) == (None, 1)
    with django_capture_on_commit_callbacks(execute=True):
        incident_restore(incident=incident, by=manager)
    mttr = latest_release_metrics(release_ids=[release.pk])[release.pk]["mttr_hours"]
    assert mttr.value == pytest.approx(3.0, abs=0.01)
    assert mttr.details["open_incidents"] == 0
