"""Live evaluation and suspension (issue 13, metrics.md "Decisions stay true to the evidence"), embedded mode:
a change of evidence re-evaluates the release's current gates after the coalesced recompute, before the response;
evaluations store the watermark they saw and are stale while newer evidence exists; a go decision the evidence
no longer supports is suspended with its reason, audited; an expired waiver suspends too (beat and on read)."""

import datetime as dt

import pytest
from django.utils import timezone

from defects import services as defect_services
from gates import services
from gates.models import (
    AuditEvent,
    ChecklistItem,
    DecisionSuspension,
    GateCondition,
    GateEvaluation,
    QualityGate,
    SuspensionReason,
)
from gates.services.evaluation import release_watermark
from gates.tasks import expire_waivers as expire_waivers_task
from gates.verdicts import DecisionState, evaluation_is_stale, move_verdicts
from metrics import services as metric_services
from releases.models import ReleaseStatus, Role
from tests.factories import DefectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def golive(project):
    """The go-live gate (ready -> released): no open blocker (key), every checklist item signed."""
    gate = QualityGate.objects.create(
        project=project, name="Go-live", from_status="ready", to_status="released"
    )
    GateCondition.objects.create(
        gate=gate, metric="blocking_open_defects", operator="lte", error_threshold=0, key=True
    )
    ChecklistItem.objects.create(gate=gate, text="Rollback plan reviewed", role=Role.RELEASE_MANAGER)
    return gate


@pytest.fixture
def handover(project):
    """A gate of a later stage (released -> handed_over): never a ready release's current gate."""
    return QualityGate.objects.create(
        project=project, name="Handover", from_status="released", to_status="handed_over"
    )


@pytest.fixture
def ready(project):
    return ReleaseFactory(project=project, version="7.0", status=ReleaseStatus.READY)


def _new_blocker(project, release, by, title="Card payments fail"):
    return defect_services.defect_create(
        project=project, title=title, by=by, severity="blocker", found_in_release=release
    )


def test_new_blocker_re_evaluates_only_current_gates_before_the_response(
    golive, handover, ready, project, rm, django_capture_on_commit_callbacks
):
    # given an evaluation of the go-live gate that saw no blocker
    first = services.gate_evaluate(gate=golive, release=ready, by=rm)
    assert first.conditions[0]["outcome"] == "passed"
    # when a blocker is reported (embedded mode: the queued recompute runs on commit)
    with django_capture_on_commit_callbacks(execute=True):
        _new_blocker(project, ready, rm)
    # then the current gate was re-evaluated without anyone asking, after the recompute, and saw the blocker
    live = GateEvaluation.objects.filter(gate=golive, release=ready, requested_via="live").get()
    assert live.conditions[0]["value"] == 1 and live.status == "failed"
    assert live.evidence_at == release_watermark(ready.pk)
    assert not evaluation_is_stale(evaluation=live, watermark=release_watermark(ready.pk))
    # and the gate of a stage the release has not reached was not evaluated
    assert not GateEvaluation.objects.filter(gate=handover).exists()


def test_burst_of_changes_costs_one_evaluation_and_stale_marks_follow(
    golive, ready, project, rm, django_capture_on_commit_callbacks
):
    evaluation = services.gate_evaluate(gate=golive, release=ready, by=rm)
    # given evidence changed after the evaluation (no recompute ran yet): the evaluation is stale
    DefectFactory(project=project, found_in_release=ready, severity="minor")
    metric_services.schedule_recompute(release_ids=[ready.pk])
    assert evaluation_is_stale(evaluation=evaluation, watermark=release_watermark(ready.pk))
    # when three changes happen in one request
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            _new_blocker(project, ready, rm, title=f"Blocker {n}")
    # then one live evaluation (coalesced) that is not stale
    live = GateEvaluation.objects.filter(gate=golive, release=ready, requested_via="live")
    assert live.count() == 1
    assert not evaluation_is_stale(evaluation=live.get(), watermark=release_watermark(ready.pk))
    # and a recompute with nothing new evaluates nothing more
    assert services.reevaluate_current_gates(ready) == []


def test_signoff_evaluates_the_gate_at_once(golive, ready, rm):
    services.gate_evaluate(gate=golive, release=ready, by=rm)
    item = golive.checklist_items.get()
    signoff = services.signoff_create(item=item, release=ready, by=rm, comment="ok")
    latest = GateEvaluation.objects.filter(gate=golive, release=ready).first()
    assert latest.requested_via == "signoff" and latest.status == "passed"
    assert latest.checklist[0]["signed"] is True
    services.signoff_revoke(signoff=signoff, by=rm, reason="Plan changed")
    latest = GateEvaluation.objects.filter(gate=golive, release=ready).first()
    assert latest.status == "failed" and latest.checklist[0]["signed"] is False


def _go_with_waiver(gate, release, rm, *, expires=None):
    evaluation = services.gate_evaluate(gate=gate, release=release, by=rm)
    assert evaluation.status == "failed"  # only the checklist item is unsigned
    item = gate.checklist_items.get()
    return services.decision_record(
        release=release,
        gate=gate,
        evaluation=evaluation,
        decision="go_with_waivers",
        rationale="Rollback rehearsed last week",
        by=rm,
        waivers=[
            {
                "checklist_item": item.pk,
                "justification": "Reviewed orally",
                "owner": rm,
                "expires": expires or (timezone.now() + dt.timedelta(days=7)).date(),
            }
        ],
    )


def test_key_condition_failing_suspends_the_decision_with_reason_and_audit(
    golive, ready, project, rm, django_capture_on_commit_callbacks
):
    # given a go-with-waivers decision in force: the move is allowed
    decision = _go_with_waiver(golive, ready, rm)
    assert move_verdicts(release=ready, to_status="released")[0].state == DecisionState.IN_FORCE
    # when a blocker is reported
    with django_capture_on_commit_callbacks(execute=True):
        _new_blocker(project, ready, rm)
    # then the live evaluation suspended the decision: key condition failed, stored, audited
    suspension = DecisionSuspension.objects.get(decision=decision)
    assert suspension.reason == SuspensionReason.KEY_CONDITION_FAILED
    assert suspension.evaluation.requested_via == "live" and "blocking_open_defects" in suspension.detail
    verdict = move_verdicts(release=ready, to_status="released")[0]
    assert verdict.state == DecisionState.SUSPENDED and "key condition failed" in verdict.reason
    assert AuditEvent.objects.filter(action="decision.suspended", release=ready).count() == 1


def test_uncovered_failure_suspends_and_a_covered_one_does_not(golive, ready, project, rm):
    GateCondition.objects.create(
        gate=golive, metric="test_pass_rate", operator="gte", error_threshold=95, missing_data="ignore"
    )
    decision = _go_with_waiver(golive, ready, rm)
    # the same failure, still covered by the waiver: nothing happens
    services.gate_evaluate(gate=golive, release=ready, by=rm)
    assert not DecisionSuspension.objects.exists()
    # a new failure no waiver covers: suspended
    condition = golive.conditions.get(metric="test_pass_rate")
    condition.missing_data = "fail"
    condition.save()
    services.gate_evaluate(gate=golive, release=ready, by=rm)
    suspension = DecisionSuspension.objects.get(decision=decision)
    assert suspension.reason == SuspensionReason.UNCOVERED_FAILURE and "test_pass_rate" in suspension.detail


def test_waiver_expiry_suspends_on_read_then_in_the_beat_task(golive, ready, rm, monkeypatch):
    decision = _go_with_waiver(golive, ready, rm, expires=(timezone.now() + dt.timedelta(days=2)).date())
    later = timezone.now() + dt.timedelta(days=3)
    # when time moves past the expiry, a reader sees it at once (before the beat task runs)
    monkeypatch.setattr("gates.verdicts._today", lambda: later.date())
    verdict = move_verdicts(release=ready, to_status="released")[0]
    assert verdict.state == DecisionState.SUSPENDED and verdict.suspension_reason == "waiver_expired"
    assert not DecisionSuspension.objects.exists()
    # and the beat task stores the suspension (once), audited
    monkeypatch.setattr("gates.services.suspension.timezone.now", lambda: later)
    assert expire_waivers_task() == 1
    assert expire_waivers_task() == 0
    suspension = DecisionSuspension.objects.get(decision=decision)
    assert suspension.reason == SuspensionReason.WAIVER_EXPIRED and suspension.waiver is not None
    assert AuditEvent.objects.filter(action="decision.suspended").count() == 1


def test_a_new_decision_lifts_the_suspension(golive, ready, project, rm, django_capture_on_commit_callbacks):
    _go_with_waiver(golive, ready, rm)
    with django_capture_on_commit_callbacks(execute=True):
        blocker = _new_blocker(project, ready, rm)
    assert move_verdicts(release=ready, to_status="released")[0].state == DecisionState.SUSPENDED
    # the blocker is fixed and a new go-with-waivers is recorded on a fresh evaluation
    blocker.delete()
    metric_services.schedule_recompute(release_ids=[ready.pk])
    _go_with_waiver(golive, ready, rm)
    assert move_verdicts(release=ready, to_status="released")[0].state == DecisionState.IN_FORCE


def test_pages_show_the_suspension_and_what_a_new_decision_must_cover(
    golive, ready, project, rm, client, django_capture_on_commit_callbacks
):
    _go_with_waiver(golive, ready, rm)
    with django_capture_on_commit_callbacks(execute=True):
        _new_blocker(project, ready, rm)
    client.force_login(rm)
    decide = client.get(f"/releases/{ready.pk}/gates/{golive.pk}/decide/").content.decode()
    assert 'data-decision-state="suspended"' in decide and "key condition failed" in decide
    assert "What a new decision must cover" in decide and "cannot be waived" in decide
    report = client.get(f"/releases/{ready.pk}/readiness/").content.decode()
    assert "SUSPENDED" in report and "key condition failed" in report
    card = client.get(f"/releases/{ready.pk}/gates/").content.decode()
    assert "suspension-reason" in card and "only a new decision lifts it" in card
