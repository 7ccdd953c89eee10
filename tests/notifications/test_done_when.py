"""Issue 13's scenario, the notification part, in embedded mode and with a real Celery worker on Redis: after a
go-with-waivers, a new blocker defect makes the live re-evaluation suspend the decision, and the decider and the
release managers are told by e-mail, in the app and through the project's webhook, without anyone asking."""

import datetime as dt
import json
import time

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from gates import services as gate_services
from gates.models import ChecklistItem, DecisionSuspension, GateCondition, QualityGate
from metrics import alerts
from notifications.models import Notification, NotificationEvent
from releases.models import Role
from tests import factories as f
from tests.httplistener import listening
from tests.metrics.test_worker import QUEUE
from tests.metrics.test_worker import worker as worker  # the real-worker fixture, asked for by name


def _go_with_waivers_in_force(project, make_member):
    """A ready release whose go-live gate (no open blocker, key) has a go_with_waivers in force, decided by rita;
    rob is the other release manager, quinn files defects."""
    release = f.ReleaseFactory(project=project, version="8.0", status="ready")
    gate = QualityGate.objects.create(
        project=project, name="Go-live", from_status="ready", to_status="released"
    )
    GateCondition.objects.create(
        gate=gate, metric="blocking_open_defects", operator="lte", error_threshold=0, key=True, order=0
    )
    ChecklistItem.objects.create(gate=gate, text="Rollback plan reviewed", role=Role.RELEASE_MANAGER)
    rita = make_member(Role.RELEASE_MANAGER, username="rita")
    make_member(Role.RELEASE_MANAGER, username="rob")
    make_member(Role.QA, username="quinn")
    expires = (timezone.now() + dt.timedelta(days=10)).date()
    decision = gate_services.decision_record(
        release=release,
        gate=gate,
        decision="go_with_waivers",
        rationale="Rollback rehearsed",
        by=rita,
        waivers=[
            {
                "checklist_item": gate.checklist_items.get().pk,
                "justification": "Reviewed orally",
                "owner": rita,
                "expires": expires,
            }
        ],
    )
    return release, decision


def _file_blocker(api, project, release):
    return api.post(
        "/api/v1/defects/",
        {
            "project": project.key,
            "title": "Payments time out",
            "severity": "blocker",
            "found_in_release": release.pk,
        },
        format="json",
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_a_worker_the_suspension_reaches_the_app_the_mail_step_and_the_webhook(
    project, make_member, api_client_for, monkeypatch, request
):
    with listening() as listener:
        # the worker (its own process) may post to the listener on 127.0.0.1
        monkeypatch.setenv("QUALITYGOV_OUTBOUND_ALLOW", "127.0.0.1")
        url = request.getfixturevalue("worker")
        from celery import Celery

        sender = Celery("notify-scenario-sender", broker=url, set_as_current=False)
        monkeypatch.setattr(
            "metrics.services._enqueue_pending",
            lambda: sender.send_task("metrics.tasks.run_pending_recomputes", queue=QUEUE),
        )
        release, decision = _go_with_waivers_in_force(project, make_member)
        with override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]):
            alerts.webhook_create(
                project=project,
                name="release chat",
                url=f"http://127.0.0.1:{listener.port}/",
                secret="k" * 20,
                by=None,
            )
        quinn = project.memberships.get(user__username="quinn").user
        assert _file_blocker(api_client_for(quinn), project, release).status_code == 201
        # within 60 s the worker re-evaluates, suspends and delivers
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            b"decision_suspended" in r["body"] for r in listener.requests
        ):
            time.sleep(0.5)
    assert DecisionSuspension.objects.get(decision=decision).reason == "key_condition_failed"
    event = NotificationEvent.objects.get(kind="decision_suspended")
    assert event.dispatched_at is not None  # the e-mails went out from the worker (its mail backend)
    rita, rob = (project.memberships.get(user__username=n).user for n in ("rita", "rob"))
    assert sorted(event.email_to) == sorted([rita.pk, rob.pk])
    assert sorted(
        Notification.objects.filter(kind="decision_suspended").values_list("user__username", flat=True)
    ) == [
        "rita",
        "rob",
    ]
    [delivered] = [json.loads(r["body"]) for r in listener.requests if b"decision_suspended" in r["body"]]
    assert (
        delivered["data"]["reason"] == "key_condition_failed"
        and delivered["data"]["decision_id"] == decision.pk
    )


def test_suspension_by_a_new_blocker_notifies_decider_and_release_managers(
    project, make_member, api_client_for, django_capture_on_commit_callbacks
):
    # given a ready release whose go-live gate has a go_with_waivers in force, decided by rita
    with django_capture_on_commit_callbacks(execute=True):
        release, decision = _go_with_waivers_in_force(project, make_member)
    rita, rob, qa = (project.memberships.get(user__username=n).user for n in ("rita", "rob", "quinn"))
    mail.outbox.clear()
    Notification.objects.all().delete()
    with listening() as listener, override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]):
        alerts.webhook_create(
            project=project,
            name="release chat",
            url=f"http://127.0.0.1:{listener.port}/",
            secret="k" * 20,
            by=None,
        )
        # when QA files a blocker found in the release (over the API, embedded mode: everything before the answer)
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client_for(qa).post(
                "/api/v1/defects/",
                {
                    "project": project.key,
                    "title": "Payments time out",
                    "severity": "blocker",
                    "found_in_release": release.pk,
                },
                format="json",
            )
        assert response.status_code == 201, response.json()
    # then the decision is suspended by the live re-evaluation
    assert DecisionSuspension.objects.get(decision=decision).reason == "key_condition_failed"
    # and rita (the decider) and rob (release manager) are told in the app and by e-mail; QA is not
    told = Notification.objects.filter(kind="decision_suspended")
    assert sorted(told.values_list("user__username", flat=True)) == ["rita", "rob"]
    suspended_mail = [m for m in mail.outbox if "suspended" in m.subject]
    assert sorted(m.to[0] for m in suspended_mail) == sorted([rita.email, rob.email])
    assert "key condition failed" in suspended_mail[0].subject
    # and the project's webhook received the event, signed
    events = [json.loads(r["body"]) for r in listener.requests]
    suspended = [e for e in events if e["event"] == "decision_suspended"]
    assert len(suspended) == 1 and suspended[0]["data"]["reason"] == "key_condition_failed"
    assert suspended[0]["data"]["release"] == "8.0" and suspended[0]["project"] == project.key
    assert all(r["headers"]["X-QualityGov-Signature"].startswith("sha256=") for r in listener.requests)
