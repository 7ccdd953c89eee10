"""Dashboard pages: wiring, access, and bounded query counts at two data sizes."""

import datetime as dt

import pytest
from django.utils import timezone

from metrics import services
from tests import factories as f

pytestmark = pytest.mark.django_db


def populate(project, *, releases: int, defects: int, results: int):
    """Releases with defects, results and snapshots, so pages read snapshots."""
    now = timezone.now()
    made = []
    for i in range(releases):
        rel = f.ReleaseFactory(project=project, version=f"9.{i}.0", status="testing")
        for j in range(defects):
            f.DefectFactory(
                project=project,
                found_in_release=rel,
                created_at=now - dt.timedelta(days=j % 20),
                severity=["blocker", "major", "minor"][j % 3],
            )
        run = f.TestRunFactory(release=rel)
        for _ in range(results):
            f.TestResultFactory(run=run, release=rel, status="passed")
        services.snapshot_release(release=rel)
        made.append(rel)
    services.snapshot_project(project=project)
    return made


@pytest.mark.parametrize("size", [(1, 2, 2), (4, 12, 10)])
def test_dashboards_render_in_bounded_queries(client, project, size, django_assert_max_num_queries, viewer):
    releases = populate(project, releases=size[0], defects=size[1], results=size[2])
    client.force_login(viewer)
    # the same number of queries at both sizes, read from snapshots; each page also counts the top bar's unread
    # notifications (one COUNT, issue 13's bell)
    with django_assert_max_num_queries(21):
        assert client.get(f"/releases/{releases[0].pk}/dashboard/").status_code == 200
    with django_assert_max_num_queries(24):
        assert client.get(f"/projects/{project.key}/dashboard/").status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get("/dashboards/").status_code == 200


def test_release_dashboard_computes_on_demand_and_explains_risk(client, release, viewer):
    f.DefectFactory(project=release.project, found_in_release=release, severity="blocker")
    client.force_login(viewer)
    response = client.get(f"/releases/{release.pk}/dashboard/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-indicator="blocking_open_defects"' in body
    assert 'data-plotly-target="chart-flow"' in body


def test_dashboards_of_other_projects_are_not_found(client, release, admin):
    other = f.ProjectFactory(key="OPS")
    other_release = f.ReleaseFactory(project=other)
    client.force_login(admin)
    assert client.get(f"/releases/{other_release.pk}/dashboard/").status_code == 404
    assert client.get("/projects/OPS/dashboard/").status_code == 404


def test_release_page_shows_metrics_summary(client, release, viewer):
    services.snapshot_release(release=release)
    client.force_login(viewer)
    body = client.get(f"/releases/{release.pk}/").content.decode()
    assert 'id="release-metrics"' in body


@pytest.mark.parametrize("rules", [1, 8])
def test_alert_rules_page_bounded_and_admin_only(
    client, project, rules, django_assert_max_num_queries, admin, viewer
):
    from metrics.models import AlertRule, Webhook

    hook = Webhook.objects.create(
        project=project, name="ops", url="https://hooks.example.com/x", secret="s" * 20
    )
    for i in range(rules):
        AlertRule.objects.create(project=project, metric="open_defects", threshold=i).webhooks.add(hook)
    client.force_login(viewer)
    with django_assert_max_num_queries(10):
        assert client.get(f"/projects/{project.key}/alerts/").status_code == 200
    payload = {"form": "rule", "metric": "reopen_rate", "direction": "above", "threshold": "10"}
    assert client.post(f"/projects/{project.key}/alerts/", payload).status_code == 403
    assert AlertRule.objects.count() == rules
    client.force_login(admin)
    assert client.post(f"/projects/{project.key}/alerts/", payload).status_code == 302
    assert AlertRule.objects.filter(metric="reopen_rate").exists()
    bad = client.post(f"/projects/{project.key}/alerts/", {**payload, "threshold": "lots"})
    assert bad.status_code == 400
    assert AlertRule.objects.count() == rules + 1


def test_active_alerts_show_on_the_release_dashboard(client, release, viewer):
    from metrics.models import Alert, AlertRule

    rule = AlertRule.objects.create(project=release.project, metric="open_defects", threshold=0)
    f.DefectFactory(project=release.project, found_in_release=release)
    Alert.objects.create(
        rule=rule,
        project=release.project,
        release=release,
        metric="open_defects",
        value=3,
        threshold=0,
        direction="above",
    )
    client.force_login(viewer)
    body = client.get(f"/releases/{release.pk}/dashboard/").content.decode()
    assert 'id="active-alerts"' in body
