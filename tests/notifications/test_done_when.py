"""Issue 13's scenario, the notification part (embedded mode): after a go-with-waivers, a new blocker defect makes
the live re-evaluation suspend the decision, and the decider and the release managers are told by e-mail, in the
app and through the project's webhook, without anyone asking."""

import datetime as dt
import json

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from gates import services as gate_services
from gates.models import ChecklistItem, DecisionSuspension, GateCondition, QualityGate
from metrics import alerts
from notifications.models import Notification
from releases.models import Role
from tests import factories as f
from tests.httplistener import listening


def test_suspension_by_a_new_blocker_notifies_decider_and_release_managers(
    project, make_member, api_client_for, django_capture_on_commit_callbacks
):
    # given a ready release whose go-live gate has a go_with_waivers in force, decided by rita
    release = f.ReleaseFactory(project=project, version="8.0", status="ready")
    gate = QualityGate.objects.create(
        project=project, name="Go-live", from_status="ready", to_status="released"
    )
    GateCondition.objects.create(
        gate=gate, metric="blocking_open_defects", operator="lte", error_threshold=0, key=True, order=0
    )
    ChecklistItem.objects.create(gate=gate, text="Rollback plan reviewed", role=Role.RELEASE_MANAGER)
    rita = make_member(Role.RELEASE_MANAGER, username="rita")
    rob = make_member(Role.RELEASE_MANAGER, username="rob")
    qa = make_member(Role.QA, username="quinn")
    expires = (timezone.now() + dt.timedelta(days=10)).date()
    with django_capture_on_commit_callbacks(execute=True):
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
    mail.outbox.clear()
    Notification.objects.all().delete()
    with listening() as listener, override_settings(QUALITYGOV_OUTBOUND_ALLOW=["127.0.0.1"]):
        alerts.webhook_create(
            project=project, name="release chat", url=f"http://127.0.0.1:{listener.port}/", secret="k" * 20
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
