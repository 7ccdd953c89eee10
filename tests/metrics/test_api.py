"""Metrics API: values with n/unit/computed_at, as_of, series, alert rules and webhooks with permissions."""

import datetime as dt

import pytest
from django.utils import timezone

from metrics import services
from metrics.models import AlertRule, MetricSnapshot, Webhook
from tests import factories as f

from .histories import DAY, T0, defect

pytestmark = pytest.mark.django_db


def test_release_metrics_returns_every_metric_with_n_and_computed_at(api_client_for, release, viewer):
    client = api_client_for(viewer)
    response = client.get(f"/api/v1/releases/{release.pk}/metrics/")
    assert response.status_code == 200
    rows = {r["key"]: r for r in response.json()}
    assert rows["open_defects"]["value"] == 0
    assert rows["test_pass_rate"]["value"] is None
    assert {"n", "unit", "computed_at", "as_of"} <= set(rows["release_risk_score"])
    assert "mttr_hours" in rows


def test_release_metrics_as_of_ignores_later_events(api_client_for, release, viewer):
    # given a defect created at T0 - 1 day and one created today
    defect(release, created=T0 - DAY)
    defect(release, created=timezone.now() - dt.timedelta(minutes=5))
    client = api_client_for(viewer)
    response = client.get(f"/api/v1/releases/{release.pk}/metrics/", {"as_of": T0.isoformat()})
    rows = {r["key"]: r for r in response.json()}
    # then only the first is open as of T0
    assert rows["open_defects"]["value"] == 1


@pytest.mark.parametrize("as_of", ["yesterday", "2026-13-45", "2999-01-01T00:00:00Z"])
def test_bad_as_of_is_a_400_with_a_message(api_client_for, release, as_of, viewer):
    response = api_client_for(viewer).get(f"/api/v1/releases/{release.pk}/metrics/", {"as_of": as_of})
    assert response.status_code == 400
    assert response.json()["detail"]


def test_metrics_of_other_projects_are_not_found(api_client_for, release, admin):
    other = f.ReleaseFactory(project=f.ProjectFactory(key="OPS"))
    client = api_client_for(admin)
    assert client.get(f"/api/v1/releases/{other.pk}/metrics/").status_code == 404
    assert client.get("/api/v1/projects/OPS/metrics/").status_code == 404
    assert api_client_for(None).get(f"/api/v1/releases/{release.pk}/metrics/").status_code == 401


def test_series_returns_daily_snapshots_and_defect_flow(api_client_for, release, viewer):
    now = timezone.now()
    for days in (3, 2, 1):
        services.snapshot_release(release=release, as_of=now - dt.timedelta(days=days))
    defect(release, created=now - dt.timedelta(days=2))
    client = api_client_for(viewer)
    response = client.get(
        f"/api/v1/releases/{release.pk}/metrics/open_defects/series/",
        {"from": (now - dt.timedelta(days=5)).date().isoformat()},
    )
    assert response.status_code == 200
    assert len(response.json()["points"]) == 3
    flow = client.get(f"/api/v1/releases/{release.pk}/metrics/defect_flow/series/", {"bucket": "week"})
    assert flow.status_code == 200
    assert sum(p["details"]["opened"] for p in flow.json()["points"]) == 1


@pytest.mark.parametrize(
    "params", [{"bucket": "hour"}, {"from": "2026-02-01", "to": "2026-01-01"}, {"from": "x"}]
)
def test_series_rejects_bad_parameters(api_client_for, release, params, viewer):
    response = api_client_for(viewer).get(
        f"/api/v1/releases/{release.pk}/metrics/open_defects/series/", params
    )
    assert response.status_code == 400


def test_unknown_metric_series_is_400(api_client_for, release, project, viewer):
    client = api_client_for(viewer)
    assert client.get(f"/api/v1/releases/{release.pk}/metrics/nope/series/").status_code == 400
    assert client.get(f"/api/v1/projects/{project.key}/metrics/open_defects/series/").status_code == 400
    assert client.get(f"/api/v1/projects/{project.key}/metrics/mttr_hours/series/").status_code == 200


def test_project_metrics_report_open_incidents(api_client_for, project, viewer):
    f.IncidentFactory(project=project)
    rows = {
        r["key"]: r for r in api_client_for(viewer).get(f"/api/v1/projects/{project.key}/metrics/").json()
    }
    assert rows["mttr_hours"]["value"] is None
    assert rows["mttr_hours"]["details"]["open_incidents"] == 1


def test_admin_creates_alert_rule_and_others_are_refused(api_client_for, make_member, project):
    admin, manager = make_member("admin"), make_member("manager")
    payload = {
        "metric": "blocking_open_defects",
        "threshold": 2,
        "direction": "above",
        "owner": manager.username,
    }
    refused = api_client_for(manager).post(
        f"/api/v1/projects/{project.key}/alert-rules/", payload, format="json"
    )
    assert refused.status_code == 403
    assert not AlertRule.objects.exists()
    created = api_client_for(admin).post(
        f"/api/v1/projects/{project.key}/alert-rules/", payload, format="json"
    )
    assert created.status_code == 201
    assert created.json()["owner"] == manager.username
    rule_id = created.json()["id"]
    changed = api_client_for(admin).patch(f"/api/v1/alert-rules/{rule_id}/", {"threshold": 5}, format="json")
    assert changed.json()["threshold"] == 5
    assert api_client_for(manager).delete(f"/api/v1/alert-rules/{rule_id}/").status_code == 403
    assert api_client_for(admin).delete(f"/api/v1/alert-rules/{rule_id}/").status_code == 204


@pytest.mark.parametrize(
    "payload",
    [
        {"metric": "nope", "threshold": 1, "direction": "above"},
        {"metric": "reopen_rate", "threshold": "x", "direction": "above"},
        {"metric": "reopen_rate", "threshold": 1, "direction": "sideways"},
        {"metric": "reopen_rate", "threshold": 1, "direction": "above", "owner": "stranger"},
        {"metric": "reopen_rate", "threshold": 1, "direction": "above", "webhooks": [999]},
    ],
)
def test_bad_alert_rules_are_400_and_nothing_is_written(api_client_for, project, payload, admin):
    response = api_client_for(admin).post(
        f"/api/v1/projects/{project.key}/alert-rules/", payload, format="json"
    )
    assert response.status_code == 400
    assert not AlertRule.objects.exists()


def test_webhooks_need_admin_and_never_return_the_secret(api_client_for, project, admin, qa):
    payload = {"name": "ops", "url": "https://hooks.example.com/qg", "secret": "s" * 20}
    assert (
        api_client_for(qa)
        .post(f"/api/v1/projects/{project.key}/webhooks/", payload, format="json")
        .status_code
        == 403
    )
    response = api_client_for(admin).post(f"/api/v1/projects/{project.key}/webhooks/", payload, format="json")
    assert response.status_code == 201
    assert "secret" not in response.json()
    assert Webhook.objects.get().secret == "s" * 20


def test_recompute_endpoint_records_a_pending_request(
    api_client_for, release, django_capture_on_commit_callbacks, qa, viewer
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(qa).post(f"/api/v1/releases/{release.pk}/metrics/recompute/")
    assert response.status_code == 202
    # eager Celery in tests: the pending request was processed into snapshots
    assert MetricSnapshot.objects.filter(release=release, key="release_risk_score").exists()
    assert api_client_for(viewer).post(f"/api/v1/releases/{release.pk}/metrics/recompute/").status_code == 403


@pytest.mark.parametrize("size", [2, 12])
def test_alert_list_query_count_is_bounded(
    api_client_for, project, size, django_assert_max_num_queries, viewer
):
    from metrics.models import Alert

    rule = AlertRule.objects.create(project=project, metric="open_defects", threshold=0)
    for i in range(size):
        rel = f.ReleaseFactory(project=project)
        Alert.objects.create(
            rule=rule,
            project=project,
            release=rel,
            metric="open_defects",
            value=i + 1,
            threshold=0,
            direction="above",
        )
    client = api_client_for(viewer)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/alerts/", {"active": "true"})
    assert response.json()["count"] == size


def test_openapi_schema_documents_metric_endpoints(client, viewer):
    client.force_login(viewer)
    schema = client.get("/api/schema/").content.decode()
    for path in (
        "/api/v1/releases/{id}/metrics/",
        "/api/v1/releases/{id}/metrics/{key}/series/",
        "/api/v1/projects/{key}/metrics/",
        "/api/v1/incidents/",
    ):
        assert path in schema


@pytest.mark.parametrize("defects", [1, 20])
def test_release_metrics_api_reads_snapshots_in_bounded_queries(
    api_client_for, release, defects, django_assert_max_num_queries, viewer
):
    for _ in range(defects):
        defect(release, created=timezone.now() - DAY)
    services.snapshot_release(release=release)
    services.snapshot_project(project=release.project)
    client = api_client_for(viewer)
    # 9: one more than before measures, for the project's custom measure keys
    with django_assert_max_num_queries(9):
        assert client.get(f"/api/v1/releases/{release.pk}/metrics/").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(f"/api/v1/projects/{release.project.key}/metrics/").status_code == 200
