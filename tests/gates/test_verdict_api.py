"""The verdict API and deploy-check (issue 13): shape, access, bounded queries, exit codes 0/1/3."""

import pytest
from rest_framework.authtoken.models import Token

from gates import services
from releases.models import Role
from tests.cli.test_cli import run_cli
from tests.factories import ProjectFactory, ReleaseFactory

PASSING = {"blocking_open_defects": 0, "test_pass_rate": 99.0, "reopen_rate": 1.0}


@pytest.fixture
def ready(project):
    return ReleaseFactory(project=project, version="5.0", status="ready")


@pytest.mark.django_db
def test_gate_verdict_answers_evaluation_and_decision_in_force(
    api_client_for, gate, ready, rm, metric_values, django_assert_max_num_queries
):
    metric_values(PASSING)
    services.signoff_create(item=gate.checklist_items.get(), release=ready, by=rm)
    decision = services.decision_record(release=ready, gate=gate, decision="go", rationale="Green", by=rm)
    client = api_client_for(rm)
    with django_assert_max_num_queries(12):
        body = client.get(f"/api/v1/releases/{ready.pk}/gates/{gate.pk}/verdict/").json()
    assert body["state"] == "in_force" and body["permits"] is True and body["current"] is True
    assert body["decision"]["id"] == decision.pk and body["decision"]["kind"] == "go"
    assert body["decision"]["by"] == rm.username and body["decision"]["suspended"] is False
    assert body["evaluation"]["status"] == "passed" and body["evaluation"]["stale"] is False
    assert body["guards"] == {"from": "ready", "to": "released"}
    release = client.get(f"/api/v1/releases/{ready.pk}/verdict/").json()
    assert release["may_move"] is True and release["next_status"] == "released"
    assert [g["gate"] for g in release["gates"]] == [gate.pk]


@pytest.mark.django_db
def test_verdict_without_decision_refuses_and_other_projects_answer_404(
    api_client_for, gate, ready, make_member
):
    viewer = make_member(Role.VIEWER)
    body = api_client_for(viewer).get(f"/api/v1/releases/{ready.pk}/verdict/").json()
    assert body["may_move"] is False and body["gates"][0]["state"] == "none"
    assert "no go decision recorded" in body["reason"]
    other = ProjectFactory(key="OTH")
    outsider = make_member(Role.RELEASE_MANAGER, project_=other)
    assert api_client_for(outsider).get(f"/api/v1/releases/{ready.pk}/verdict/").status_code == 404
    other_gate = other.gates.create(name="Foreign")
    url = f"/api/v1/releases/{ready.pk}/gates/{other_gate.pk}/verdict/"
    assert api_client_for(viewer).get(url).status_code == 404
    assert api_client_for(None).get(f"/api/v1/releases/{ready.pk}/verdict/").status_code in (401, 403)


@pytest.mark.django_db(transaction=True)
def test_deploy_check_exit_codes(live_server, gate, ready, rm, make_member, metric_values):
    token = Token.objects.create(user=make_member(Role.QA, username="ci-bot")).key
    metric_values(PASSING)
    # no decision: 1
    result = run_cli("deploy-check", "--release", str(ready.pk), url=live_server.url, token=token)
    assert result.returncode == 1 and "DEPLOY REFUSED" in result.stdout, result.stderr
    # a go in force: 0
    services.signoff_create(item=gate.checklist_items.get(), release=ready, by=rm)
    services.decision_record(release=ready, gate=gate, decision="go", rationale="Green", by=rm)
    result = run_cli("deploy-check", "--release", str(ready.pk), url=live_server.url, token=token)
    assert result.returncode == 0 and "DEPLOY ALLOWED" in result.stdout, result.stderr
    # gate-check keeps its evaluation exit code and names the decision in force
    result = run_cli(
        "gate-check", "--gate", str(gate.pk), "--release", str(ready.pk), url=live_server.url, token=token
    )
    assert result.returncode == 0 and "Decision: go by" in result.stdout, result.stderr
    # no answer: 3 (unknown release, bad token, unreachable server)
    assert run_cli("deploy-check", "--release", "999999", url=live_server.url, token=token).returncode == 3
    assert (
        run_cli("deploy-check", "--release", str(ready.pk), url=live_server.url, token="bad").returncode == 3
    )
    assert (
        run_cli("deploy-check", "--release", str(ready.pk), url="http://127.0.0.1:9", token=token).returncode
        == 3
    )


@pytest.mark.django_db
def test_evaluations_api_marks_a_stale_evaluation(api_client_for, gate, ready, rm, metric_values):
    from metrics import services as metric_services

    metric_values(PASSING)
    client = api_client_for(rm)
    created = client.post(
        f"/api/v1/gates/{gate.pk}/evaluations/", {"release": ready.pk}, format="json"
    ).json()
    assert created["stale"] is False
    metric_services.schedule_recompute(release_ids=[ready.pk])  # newer evidence, re-evaluation not run yet
    assert client.get(f"/api/v1/evaluations/{created['id']}/").json()["stale"] is True
    listed = client.get(f"/api/v1/gates/{gate.pk}/evaluations/").json()["results"]
    assert [e["stale"] for e in listed] == [True]
