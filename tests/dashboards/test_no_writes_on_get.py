"""A dashboard GET never writes: a scope without snapshots is computed in memory for the page only."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.models import MetricSnapshot, PendingRecompute
from tests import factories as f

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.mark.parametrize(
    "url", ["/releases/{release}/dashboard/", "/projects/{project}/dashboard/", "/dashboards/"]
)
def test_dashboard_get_of_a_scope_without_snapshots_writes_nothing(client, release, url, viewer):
    # given a release with evidence but no snapshot of it or its project yet
    f.DefectFactory(project=release.project, found_in_release=release, severity="blocker")
    client.force_login(viewer)
    # when its dashboard is read
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url.format(release=release.pk, project=release.project.key))
    # then the page shows computed values and nothing was written
    assert response.status_code == 200
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert writes == []
    assert not MetricSnapshot.objects.exists() and not PendingRecompute.objects.exists()


def test_release_dashboard_shows_values_computed_in_memory(client, release, viewer):
    f.DefectFactory(project=release.project, found_in_release=release, severity="blocker")
    client.force_login(viewer)
    body = client.get(f"/releases/{release.pk}/dashboard/").content.decode()
    # the blocking-defects indicator is there although no snapshot exists
    assert 'data-indicator="blocking_open_defects"' in body
