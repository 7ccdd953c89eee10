"""Issue 13's "Done when" scenario over the API, in embedded (eager) mode and with a real Celery worker on Redis.

A ready release; evaluate -> failed; no-go -> the move to released answers 409 and the refusal is audited;
deploy-check exits 1; go-with-waivers covering every failure -> the move is allowed and deploy-check exits 0; a new
blocker -> the current gate is re-evaluated without anyone asking (embedded: before the response; worker: within
60 s), the decision is suspended with "key condition failed", deploy-check exits 1 and the move answers 409.
The other release manager is told (in-app; by e-mail in embedded mode, where this process's outbox is the
sender's): the notify engineer's channels ride the suspension event (tests/gates/test_notices.py in detail).
"""

import datetime as dt
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone
from rest_framework.authtoken.models import Token

from gates.models import (
    AuditEvent,
    ChecklistItem,
    DecisionSuspension,
    GateCondition,
    GateEvaluation,
    QualityGate,
)
from notifications.models import Notification
from releases.models import Role
from tests import factories as f
from tests.cli.test_cli import run_cli
from tests.metrics.test_worker import QUEUE
from tests.metrics.test_worker import worker as worker  # the real-worker fixture, asked for by name

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scenario(project, make_member):
    """A ready release with 9 of 10 tests passing, no defect, and the go-live gate: no open blocker (key),
    pass rate >= 95 %, a signed rollback plan."""
    release = f.ReleaseFactory(project=project, version="8.0", status="ready")
    gate = QualityGate.objects.create(
        project=project, name="Go-live", from_status="ready", to_status="released"
    )
    GateCondition.objects.create(
        gate=gate, metric="blocking_open_defects", operator="lte", error_threshold=0, key=True, order=0
    )
    GateCondition.objects.create(
        gate=gate, metric="test_pass_rate", operator="gte", error_threshold=95, order=1
    )
    ChecklistItem.objects.create(gate=gate, text="Rollback plan reviewed", role=Role.RELEASE_MANAGER)
    run = f.TestRunFactory(release=release)
    for i in range(10):
        f.TestResultFactory(
            run=run,
            test_case=f.TestCaseFactory(project=project, title=f"case {i}"),
            status="failed" if i == 0 else "passed",
        )
    rm = make_member(Role.RELEASE_MANAGER, username="rita")
    make_member(Role.RELEASE_MANAGER, username="rob")
    ci = make_member(Role.QA, username="ci-bot")
    return {"release": release, "gate": gate, "rm": rm, "token": Token.objects.create(user=ci).key}


def rm_email(username: str) -> str:
    return get_user_model().objects.get(username=username).email


def _deploy_check(live_server, token, release, *extra):
    return run_cli("deploy-check", "--release", str(release.pk), *extra, url=live_server.url, token=token)


def _via_worker(request, monkeypatch):
    """The web side enqueues the coalesced recompute on Redis for the real worker instead of running it inline."""
    from celery import Celery

    url = request.getfixturevalue("worker")
    sender = Celery("gates-scenario-sender", broker=url, set_as_current=False)
    monkeypatch.setattr(
        "metrics.services._enqueue_pending",
        lambda: sender.send_task("metrics.tasks.run_pending_recomputes", queue=QUEUE),
    )


@pytest.mark.parametrize("mode", ["embedded", pytest.param("worker", marks=pytest.mark.worker)])
def test_done_when_scenario(mode, request, monkeypatch, live_server, scenario, api_client_for):
    if mode == "worker":
        _via_worker(request, monkeypatch)
    release, gate, rm, token = scenario["release"], scenario["gate"], scenario["rm"], scenario["token"]
    api = api_client_for(rm)
    # evaluate -> failed (pass rate 90 %, checklist unsigned)
    response = api.post(f"/api/v1/gates/{gate.pk}/evaluations/", {"release": release.pk}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "failed"
    evaluation = response.json()["id"]
    # no-go -> the move answers 409 naming the gate, audited; deploy-check exits 1
    response = api.post(
        "/api/v1/decisions/",
        {
            "release": release.pk,
            "gate": gate.pk,
            "evaluation": evaluation,
            "decision": "no_go",
            "rationale": "Red",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    response = api.patch(f"/api/v1/releases/{release.pk}/", {"status": "released"}, format="json")
    assert response.status_code == 409 and "Go-live" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="release.move_refused", release=release).count() == 1
    result = _deploy_check(live_server, token, release)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no-go is in force" in result.stdout
    # go-with-waivers covering every failure -> the move is allowed, deploy-check exits 0
    expires = (timezone.now() + dt.timedelta(days=5)).date().isoformat()
    item = gate.checklist_items.get()
    waivers = [
        {
            "condition": gate.conditions.get(metric="test_pass_rate").pk,
            "justification": "Flaky",
            "owner": "rita",
            "expires": expires,
        },
        {"checklist_item": item.pk, "justification": "Reviewed orally", "owner": "rita", "expires": expires},
    ]
    response = api.post(
        "/api/v1/decisions/",
        {
            "release": release.pk,
            "gate": gate.pk,
            "evaluation": evaluation,
            "decision": "go_with_waivers",
            "rationale": "Known flaky test; rollback rehearsed",
            "waivers": waivers,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    verdict = api.get(f"/api/v1/releases/{release.pk}/verdict/").json()
    assert verdict["may_move"] is True and verdict["gates"][0]["state"] == "in_force"
    result = _deploy_check(live_server, token, release)
    assert result.returncode == 0, result.stdout + result.stderr
    # a new blocker -> the gate is re-evaluated without anyone asking, the decision suspended
    before = GateEvaluation.objects.count()
    response = api.post(
        "/api/v1/defects/",
        {
            "project": release.project.key,
            "title": "Payments time out",
            "severity": "blocker",
            "found_in_release": release.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    deadline = time.monotonic() + (60 if mode == "worker" else 0)
    # (the notification follows the suspension's commit: wait for both)
    while time.monotonic() < deadline and not (
        DecisionSuspension.objects.exists()
        and Notification.objects.filter(kind="decision_suspended").exists()
    ):
        time.sleep(0.5)
    live = GateEvaluation.objects.filter(requested_via="live").order_by("-id").first()
    assert live is not None and GateEvaluation.objects.count() > before, f"no live evaluation ({mode})"
    assert live.status == "failed" and live.conditions[0]["value"] == 1
    suspension = DecisionSuspension.objects.get()
    assert (
        suspension.reason == "key_condition_failed"
        and suspension.get_reason_display() == "key condition failed"
    )
    assert AuditEvent.objects.filter(action="decision.suspended", release=release).exists()
    told = Notification.objects.filter(kind="decision_suspended").values_list("user__username", flat=True)
    assert "rob" in set(told)
    if mode == "embedded":
        assert any("suspended" in m.subject and m.to == [rm_email("rob")] for m in mail.outbox)
    verdict = api.get(f"/api/v1/releases/{release.pk}/gates/{gate.pk}/verdict/").json()
    assert (
        verdict["state"] == "suspended"
        and verdict["decision"]["suspension"]["reason"] == "key_condition_failed"
    )
    assert verdict["evaluation"]["id"] == live.pk and verdict["evaluation"]["stale"] is False
    result = _deploy_check(live_server, token, release, "--wait", "30")
    assert result.returncode == 1 and "SUSPENDED" in result.stdout, result.stdout + result.stderr
    response = api.patch(f"/api/v1/releases/{release.pk}/", {"status": "released"}, format="json")
    assert response.status_code == 409 and "key condition failed" in response.json()["detail"]
