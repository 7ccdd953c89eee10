"""Governance notifications (issue 13 item 6): an evaluation that turned failed, a no-go, a waiver about to expire
(once), a suspended decision; told: the decider, the project's release managers (and the waiver's owner), never the
person who caused it; e-mail and in-app through notifications.publish."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from gates import notices, services
from gates.models import DecisionSuspension, QualityGate
from notifications.models import Notification, NotificationEvent
from releases.models import Role

pytestmark = pytest.mark.django_db

PASSING = {"blocking_open_defects": 0, "test_pass_rate": 99.0, "reopen_rate": 1.0}
FAILING = {"blocking_open_defects": 0, "test_pass_rate": 90.0, "reopen_rate": 1.0}


@pytest.fixture
def rm2(make_member):
    return make_member(Role.RELEASE_MANAGER, username="rm_two")


def _told(kind):
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def _sign(gate, release, rm):
    services.signoff_create(item=gate.checklist_items.get(), release=release, by=rm, comment="ok")


def test_evaluation_that_turns_failed_tells_release_managers_once(
    gate, release, metric_values, rm, rm2, qa, django_capture_on_commit_callbacks
):
    # given a passing evaluation
    metric_values(PASSING)
    _sign(gate, release, rm)
    services.gate_evaluate(gate=gate, release=release, by=qa)
    assert not NotificationEvent.objects.exists()
    # when the next evaluation fails (asked for by QA), and the one after fails again
    metric_values(FAILING)
    with django_capture_on_commit_callbacks(execute=True):
        failed = services.gate_evaluate(gate=gate, release=release, by=qa)
        services.gate_evaluate(gate=gate, release=release, by=qa)
    # then the release managers are told once (in-app and e-mail), QA who asked is not a recipient
    assert _told("gate_failed") == ["release_manager_pay", "rm_two"]
    event = NotificationEvent.objects.get(kind="gate_failed")
    assert event.url == f"/evaluations/{failed.pk}/" and event.payload["previous_status"] == "passed"
    assert event.body.endswith("failed (was passed):\n- Test pass rate: 90 % (limit 95)")
    assert sorted(m.to[0] for m in mail.outbox) == sorted([rm.email, rm2.email])


def test_scheduled_evaluation_that_fails_first_time_tells_too(
    gate, release, metric_values, rm, django_capture_on_commit_callbacks
):
    metric_values(FAILING)
    with django_capture_on_commit_callbacks(execute=True):
        services.gate_evaluate(gate=gate, release=release, by=None, via="schedule")
    assert _told("gate_failed") == ["release_manager_pay"]


def test_no_go_tells_the_other_release_managers_and_the_previous_decider(
    gate, release, metric_values, rm, rm2, make_member, django_capture_on_commit_callbacks
):
    metric_values(PASSING)
    _sign(gate, release, rm)
    with django_capture_on_commit_callbacks(execute=True):
        services.decision_record(release=release, gate=gate, decision="go", rationale="All good", by=rm)
    assert not NotificationEvent.objects.exists()  # a go tells nobody
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.decision_record(
            release=release, gate=gate, decision="no_go", rationale="Blocker found in <checkout>", by=rm2
        )
    assert _told("no_go_recorded") == ["release_manager_pay"]  # rm decided before; rm2 recorded it
    event = NotificationEvent.objects.get(kind="no_go_recorded")
    assert event.payload["decision_id"] == decision.pk and "Blocker found in <checkout>" in event.body
    assert [m.to for m in mail.outbox] == [[rm.email]]


def _go_with_waivers(gate, release, rm, expires):
    failed_item = gate.checklist_items.get()
    return services.decision_record(
        release=release,
        gate=gate,
        decision="go_with_waivers",
        rationale="Accepted for the hotfix window",
        by=rm,
        waivers=[
            {
                "condition": gate.conditions.get(metric="test_pass_rate").pk,
                "justification": "Flaky suite",
                "owner": rm,
                "expires": expires,
            },
            {
                "checklist_item": failed_item.pk,
                "justification": "Verbal review",
                "owner": rm,
                "expires": expires,
            },
        ],
    )


def test_waiver_expiring_within_three_days_is_announced_once(
    gate, release, metric_values, rm, rm2, qa, django_capture_on_commit_callbacks
):
    # given a go_with_waivers for the release's next move, its waivers expiring in 2 days
    QualityGate.objects.filter(pk=gate.pk).update(from_status="testing", to_status="ready")
    gate.refresh_from_db()
    metric_values(FAILING)
    today = timezone.now().date()
    decision = _go_with_waivers(gate, release, rm2, today + dt.timedelta(days=2))
    # when the daily task runs a day too early, then on time, then again
    assert notices.waivers_notify_expiring(today=today - dt.timedelta(days=2)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert notices.waivers_notify_expiring(today=today) == 2
        assert notices.waivers_notify_expiring(today=today) == 0
        assert notices.waivers_notify_expiring(today=today + dt.timedelta(days=1)) == 0
    # then each waiver was announced once, to its owner/decider (rm2) and the release managers
    events = NotificationEvent.objects.filter(kind="waiver_expiring")
    assert events.count() == 2
    assert {e.payload["decision_id"] for e in events} == {decision.pk}
    assert "in 2 days" in events.first().title
    assert _told("waiver_expiring") == ["release_manager_pay", "release_manager_pay", "rm_two", "rm_two"]
    assert len(mail.outbox) == 4


def test_waivers_of_superseded_suspended_or_other_stage_decisions_are_not_announced(
    gate, release, metric_values, rm
):
    metric_values(FAILING)
    today = timezone.now().date()
    # the gate guards ready -> released while the release is in testing: not its current move
    _go_with_waivers(gate, release, rm, today + dt.timedelta(days=1))
    assert notices.waivers_notify_expiring(today=today) == 0
    QualityGate.objects.filter(pk=gate.pk).update(from_status="testing", to_status="ready")
    gate.refresh_from_db()
    # superseded by a later decision
    services.decision_record(release=release, gate=gate, decision="no_go", rationale="Not yet", by=rm)
    assert notices.waivers_notify_expiring(today=today) == 0
    # suspended
    suspended = _go_with_waivers(gate, release, rm, today + dt.timedelta(days=1))
    DecisionSuspension.objects.create(decision=suspended, reason="waiver_expired", detail="test")
    assert notices.waivers_notify_expiring(today=today) == 0


def test_suspension_tells_the_decider_and_release_managers(
    gate, release, metric_values, rm, rm2, qa, django_capture_on_commit_callbacks
):
    # given a go recorded by rm2 on a passing evaluation
    metric_values(PASSING)
    _sign(gate, release, rm)
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.decision_record(
            release=release, gate=gate, decision="go", rationale="All good", by=rm2
        )
    mail.outbox.clear()
    # when a blocker makes the key condition fail and QA re-evaluates
    metric_values({**PASSING, "blocking_open_defects": 1})
    with django_capture_on_commit_callbacks(execute=True):
        services.gate_evaluate(gate=gate, release=release, by=qa)
    # then the decision is suspended and the decider and the release managers hear of it
    suspension = DecisionSuspension.objects.get(decision=decision)
    assert suspension.reason == "key_condition_failed"
    assert _told("decision_suspended") == ["release_manager_pay", "rm_two"]
    event = NotificationEvent.objects.get(kind="decision_suspended")
    assert "key condition failed" in event.title and suspension.detail in event.body
    assert event.payload["reason"] == "key_condition_failed" and event.payload["decision_id"] == decision.pk
    assert {m.to[0] for m in mail.outbox if "suspended" in m.subject} == {rm.email, rm2.email}
    # the failed evaluation itself is announced too
    assert _told("gate_failed") == ["release_manager_pay", "rm_two"]


def test_expired_waiver_suspension_is_announced(
    gate, release, metric_values, rm, django_capture_on_commit_callbacks
):
    metric_values(FAILING)
    today = timezone.now().date()
    with django_capture_on_commit_callbacks(execute=True):
        decision = _go_with_waivers(gate, release, rm, today + dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.expire_waivers(now=timezone.now() + dt.timedelta(days=3))
    assert DecisionSuspension.objects.get(decision=decision).reason == "waiver_expired"
    event = NotificationEvent.objects.get(kind="decision_suspended")
    assert "waiver expired" in event.title
