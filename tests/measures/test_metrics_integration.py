"""Measures everywhere a metric is: the metrics API (with as_of), gate conditions, alert rules, series, the risk
score under the project's policy, and the default gates."""

import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from gates.models import AuditEvent, QualityGate
from measures.models import Measure
from metrics.models import Alert, MetricSnapshot, PolicyVersion
from metrics.services import compute_for_release, snapshot_release

from .samples import COBERTURA, SARIF_V1


@pytest.fixture
def qa(make_member, api_client_for):
    return api_client_for(make_member("qa"))


@pytest.fixture
def admin(make_member, api_client_for):
    return api_client_for(make_member("admin"))


def _metrics(client, release, **params) -> dict:
    rows = client.get(f"/api/v1/releases/{release.pk}/metrics/", params).json()
    rows = rows["metrics"] if isinstance(rows, dict) else rows
    return {r["key"]: r for r in rows}


def test_measures_appear_in_the_release_metrics_with_units_and_as_of(release, qa):
    # given coverage uploaded two days ago and again now
    qa.post(f"/api/v1/releases/{release.pk}/measures/", {"key": "line_coverage", "value": 70}, format="json")
    Measure.objects.update(at=timezone.now() - dt.timedelta(days=2))
    qa.post(f"/api/v1/releases/{release.pk}/coverage/", data=COBERTURA, content_type="application/xml")
    # then the metrics API shows the latest value, with its unit and direction
    rows = _metrics(qa, release)
    assert rows["line_coverage"]["value"] == 85.5 and rows["line_coverage"]["unit"] == "%"
    assert rows["line_coverage"]["higher_is_better"] is True
    assert rows["p95_latency_ms"]["value"] is None  # no load test: no data, never 0
    # and as of yesterday the older value
    yesterday = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert _metrics(qa, release, as_of=yesterday)["line_coverage"]["value"] == 70


def _gate(admin, conditions) -> int:
    response = admin.post(
        "/api/v1/gates/", {"project": "PAY", "name": "Evidence gate", "conditions": conditions}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _evaluate(client, gate_id, release) -> dict:
    response = client.post(f"/api/v1/gates/{gate_id}/evaluations/", {"release": release.pk}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_gate_on_coverage_and_new_high_findings_passes_and_fails_as_the_data_says(
    project, release, qa, admin
):
    gate_id = _gate(
        admin,
        [
            {"metric": "line_coverage", "operator": "gte", "error_threshold": 80},
            {"metric": "new_findings_high", "operator": "lte", "error_threshold": 0},
        ],
    )
    # no data yet: the default missing-data policy (fail) applies
    assert _evaluate(qa, gate_id, release)["status"] == "failed"
    # coverage 85.5 passes; one new high finding fails
    qa.post(f"/api/v1/releases/{release.pk}/coverage/", data=COBERTURA, content_type="application/xml")
    qa.post(
        f"/api/v1/releases/{release.pk}/sarif/", data=json.dumps(SARIF_V1), content_type="application/json"
    )
    body = _evaluate(qa, gate_id, release)
    outcomes = {c["metric"]: (c["value"], c["outcome"]) for c in body["conditions"]}
    assert outcomes == {"line_coverage": (85.5, "passed"), "new_findings_high": (1.0, "failed")}
    # a clean SARIF log makes the gate pass
    clean = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "bandit"}}, "results": []}]}
    qa.post(f"/api/v1/releases/{release.pk}/sarif/", data=json.dumps(clean), content_type="application/json")
    assert _evaluate(qa, gate_id, release)["status"] == "passed"


def test_a_custom_measure_key_works_end_to_end(project, release, qa, admin):
    # define
    created = admin.post(
        f"/api/v1/projects/{project.key}/measure-keys/",
        {"key": "bundle_size_kb", "label": "Bundle size", "unit": "kB", "direction": "lower"},
        format="json",
    )
    assert created.status_code == 201
    # gate on it and an alert rule on it
    gate_id = _gate(admin, [{"metric": "bundle_size_kb", "operator": "lte", "error_threshold": 500}])
    rule = admin.post(
        f"/api/v1/projects/{project.key}/alert-rules/",
        {"metric": "bundle_size_kb", "threshold": 500, "direction": "above"},
        format="json",
    )
    assert rule.status_code == 201, rule.content
    # upload
    qa.post(
        f"/api/v1/releases/{release.pk}/measures/", {"key": "bundle_size_kb", "value": 612}, format="json"
    )
    # the gate fails, the metric shows with its unit, the alert fires on the snapshot, the series has the point
    assert _evaluate(qa, gate_id, release)["status"] == "failed"
    snapshot_release(release=release)
    assert _metrics(qa, release)["bundle_size_kb"]["unit"] == "kB"
    assert Alert.objects.filter(metric="bundle_size_kb", value=612).exists()
    series = qa.get(f"/api/v1/releases/{release.pk}/metrics/bundle_size_kb/series/").json()
    points = series["points"] if isinstance(series, dict) else series
    assert [p["value"] for p in points] == [612.0]


def test_unknown_metric_in_a_gate_is_still_400(admin):
    response = admin.post(
        "/api/v1/gates/",
        {
            "project": "PAY",
            "name": "x",
            "conditions": [{"metric": "code_coverage", "operator": "gte", "error_threshold": 1}],
        },
        format="json",
    )
    assert response.status_code == 400 and "unknown metric" in response.content.decode()


def test_default_gates_judge_coverage_and_new_findings_only_where_there_is_data(project, release, qa):
    from gates.services import gates_create_defaults

    if not QualityGate.objects.filter(project=project).exists():
        gates_create_defaults(project=project, by=None)
    gate = QualityGate.objects.get(project=project, name="Release candidate -> Production")
    conditions = {c.metric: c for c in gate.conditions.all()}
    assert conditions["line_coverage"].missing_data == "ignore"
    assert conditions["new_findings_high"].missing_data == "ignore"
    body = _evaluate(qa, gate.pk, release)
    rows = {c["metric"]: c["outcome"] for c in body["conditions"]}
    assert rows["line_coverage"] == "no_data" and rows["new_findings_high"] == "no_data"


# --- Risk policy ------------------------------------------------------------------------------------------


POLICY = {
    "risk": {
        "blocking_open_defects": {"pass": 0, "warn": 2, "weight": 3},
        "line_coverage": {"pass": 80, "warn": 70, "weight": 2},
    }
}


def test_policy_get_shows_the_defaults_as_version_zero(project, qa):
    body = qa.get(f"/api/v1/projects/{project.key}/policy/").json()
    assert body["version"] == 0 and body["can_edit"] is False
    assert body["policy"]["risk"]["test_pass_rate"] == {
        "pass": 98,
        "warn": 95,
        "weight": 2,
        "direction": "higher",
    }


def test_policy_put_is_versioned_and_the_risk_score_follows_it(project, release, qa, admin):
    before = compute_for_release(release=release, keys=["release_risk_score"])["release_risk_score"]
    assert before.details["policy_version"] == 0
    qa.post(f"/api/v1/releases/{release.pk}/measures/", {"key": "line_coverage", "value": 60}, format="json")
    response = admin.put(
        f"/api/v1/projects/{project.key}/policy/",
        {"policy": POLICY, "comment": "coverage counts"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 1 and body["created_by"] == "admin_pay" and body["comment"] == "coverage counts"
    assert body["policy"]["risk"]["line_coverage"]["direction"] == "higher"  # taken from the measure
    after = compute_for_release(release=release, keys=["release_risk_score"])["release_risk_score"]
    # blocking 0 -> pass (0), coverage 60 < warn 70 -> fail (1): 100 * 2 / 5
    assert after.value == 40.0 and after.details["policy_version"] == 1
    assert {row["key"] for row in after.details["indicators"]} == {"blocking_open_defects", "line_coverage"}


def test_policy_changes_are_in_the_audit_log_with_who_and_what(project, admin):
    """Issue 17: the audit log shows who changed the policy, when, and which parts changed."""
    assert not AuditEvent.objects.filter(action="policy.changed").exists()
    response = admin.put(
        f"/api/v1/projects/{project.key}/policy/",
        {"policy": POLICY, "comment": "coverage counts"},
        format="json",
    )
    assert response.status_code == 200, response.content
    first = AuditEvent.objects.get(action="policy.changed")
    assert first.actor.username == "admin_pay" and first.project == project
    assert first.data["version"] == 1 and "coverage counts" in first.summary
    # against the defaults in force before: the indicator added and those dropped are named
    assert {"risk.line_coverage", "risk.test_pass_rate"} <= set(first.data["changed"])
    changed = dict(POLICY, risk={**POLICY["risk"]})
    changed["risk"]["line_coverage"] = {**POLICY["risk"]["line_coverage"], "weight": 7}
    response = admin.put(
        f"/api/v1/projects/{project.key}/policy/", {"policy": changed, "expected_version": 1}, format="json"
    )
    assert response.status_code == 200, response.content
    second = AuditEvent.objects.filter(action="policy.changed").order_by("-id").first()
    assert second.data == {"version": 2, "changed": ["risk.line_coverage.weight"]}
    assert "version 2" in second.summary and "risk.line_coverage.weight" in second.summary
    # a refused change leaves no audit row
    assert (
        admin.put(
            f"/api/v1/projects/{project.key}/policy/", {"policy": {"risk": 5}}, format="json"
        ).status_code
        == 400
    )
    assert AuditEvent.objects.filter(action="policy.changed").count() == 2
    log = admin.get(f"/api/v1/audit-events/?project={project.key}&action=policy").json()
    rows = log["results"] if isinstance(log, dict) else log
    assert [r["action"] for r in rows] == ["policy.changed", "policy.changed"]


def test_a_snapshot_as_of_before_the_change_keeps_the_old_policy(project, release, admin):
    past = timezone.now() - dt.timedelta(hours=1)
    old = compute_for_release(release=release, keys=["release_risk_score"], as_of=past)["release_risk_score"]
    admin.put(f"/api/v1/projects/{project.key}/policy/", {"policy": POLICY}, format="json")
    again = compute_for_release(release=release, keys=["release_risk_score"], as_of=past)[
        "release_risk_score"
    ]
    assert again.value == old.value and again.details["policy_version"] == 0
    snapshot_release(release=release, as_of=past)
    stored = MetricSnapshot.objects.get(release=release, key="release_risk_score", as_of=past)
    assert stored.details["policy_version"] == 0


@pytest.mark.parametrize(
    ("policy", "needle"),
    [
        ({"risk": {"code_coverage": {"pass": 1, "warn": 2, "weight": 1}}}, "code_coverage"),
        ({"risk": {"line_coverage": {"pass": 70, "warn": 80, "weight": 1}}}, "warn threshold"),
        ({"risk": {"line_coverage": {"pass": 80, "warn": 70, "weight": -1}}}, "weight"),
        ({"risk": {"line_coverage": {"pass": "a", "warn": 70, "weight": 1}}}, "pass"),
        ({"risk": {}}, "at least one"),
        ({"risk": {"mttr_hours": {"pass": 1, "warn": 2, "weight": 1}}}, "mttr_hours"),
        ({"window_days": 0}, "window_days"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_invalid_policies_are_400_and_store_nothing(project, admin, policy, needle):
    response = admin.put(f"/api/v1/projects/{project.key}/policy/", {"policy": policy}, format="json")
    assert response.status_code == 400 and needle in response.content.decode()
    assert PolicyVersion.objects.count() == 0


def test_only_admins_change_the_policy_and_stale_versions_conflict(
    project, make_member, api_client_for, admin
):
    for role in ("viewer", "qa", "manager", "release_manager"):
        client = api_client_for(make_member(role))
        assert (
            client.put(
                f"/api/v1/projects/{project.key}/policy/", {"policy": POLICY}, format="json"
            ).status_code
            == 403
        )
    assert (
        admin.put(
            f"/api/v1/projects/{project.key}/policy/",
            {"policy": POLICY, "expected_version": 0},
            format="json",
        ).status_code
        == 200
    )
    stale = admin.put(
        f"/api/v1/projects/{project.key}/policy/", {"policy": POLICY, "expected_version": 0}, format="json"
    )
    assert stale.status_code == 409 and PolicyVersion.objects.count() == 1


def test_patching_metric_policy_on_the_project_is_refused_not_ignored(project, admin):
    response = admin.patch(f"/api/v1/projects/{project.key}/", {"metric_policy": {"risk": {}}}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "use_policy_endpoint"
    project.refresh_from_db()
    assert project.metric_policy == {} and not PolicyVersion.objects.exists()


def test_readiness_report_lists_measures_with_units_and_the_policy_version(
    project, release, qa, client, viewer
):
    qa.post(f"/api/v1/releases/{release.pk}/coverage/", data=COBERTURA, content_type="application/xml")
    client.force_login(viewer)
    page = client.get(f"/releases/{release.pk}/readiness/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-key="line_coverage"><td>Line coverage</td><td>85.50 %' in html
    assert "Risk policy version 0" in html


def test_release_dashboard_shows_measure_tiles_and_a_custom_key_indicator(
    project, release, qa, admin, client
):
    admin.post(
        f"/api/v1/projects/{project.key}/measure-keys/",
        {"key": "bundle_size_kb", "label": "Bundle size", "unit": "kB", "direction": "lower"},
        format="json",
    )
    policy = {"risk": {"bundle_size_kb": {"pass": 500, "warn": 600, "weight": 1}}}
    assert (
        admin.put(f"/api/v1/projects/{project.key}/policy/", {"policy": policy}, format="json").status_code
        == 200
    )
    qa.post(
        f"/api/v1/releases/{release.pk}/measures/", {"key": "bundle_size_kb", "value": 612}, format="json"
    )
    snapshot_release(release=release)
    client.force_login(project.memberships.get(role="qa").user)
    html = client.get(f"/releases/{release.pk}/dashboard/").content.decode()
    assert 'id="measure-tiles"' in html and "612 kB" in html and "Bundle size" in html
    # one chart per measure key with data, titled and with the key's unit on its axis
    figure = json.loads(
        re.search(r'data-plotly-target="chart-measure-bundle_size_kb">(.*?)</script>', html, re.S).group(1)
    )
    assert figure["layout"]["title"]["text"] == "Bundle size over time"
    assert figure["layout"]["yaxis"]["title"]["text"] == "Bundle size (kB)"
    assert [trace["y"] for trace in figure["data"]] == [[612.0]]
    assert "chart-measure-p95_latency_ms" not in html  # no load test: no chart
