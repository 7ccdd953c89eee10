"""Gates guard release moves: the lifecycle's allowed moves, refusals with 409 naming the gate, the audit log."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from gates import services
from gates.models import AuditEvent, DecisionSuspension, QualityGate, SuspensionReason
from gates.verdicts import DecisionState, current_gates_by_release, move_verdicts, suspension_reason
from qualitygov.errors import ConflictError, DomainError
from releases import services as release_services
from releases.models import NEXT_STATUS, RELEASE_MOVES, ReleaseStatus
from tests.factories import ProjectFactory, ReleaseFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSING = {"blocking_open_defects": 0, "test_pass_rate": 99.0, "reopen_rate": 1.0}
FAILING = {"blocking_open_defects": 0, "test_pass_rate": 90.0, "reopen_rate": 1.0}


@pytest.fixture
def ready(project):
    return ReleaseFactory(project=project, version="6.0", status=ReleaseStatus.READY)


def test_lifecycle_moves_are_one_step_forward_back_or_cancel():
    assert NEXT_STATUS == {
        "planning": "testing",
        "testing": "ready",
        "ready": "released",
        "released": "handed_over",
    }
    assert "cancelled" not in RELEASE_MOVES["released"] and RELEASE_MOVES["handed_over"] == ()
    assert all("cancelled" in RELEASE_MOVES[s] for s in ("planning", "testing", "ready"))


def test_illegal_move_is_refused_and_changes_nothing(release, manager):
    # given a release in testing
    # when it jumps straight to released
    with pytest.raises(DomainError) as exc:
        release_services.release_move(release=release, to="released", by=manager)
    # then the lifecycle refuses, naming the allowed moves, and nothing moved
    assert exc.value.status_code == 400 and "Allowed from testing: ready" in exc.value.message
    release.refresh_from_db()
    assert release.status == "testing" and release.actual_release_date is None


def test_default_gates_guard_the_contract_moves(db):
    project = release_services.project_create(key="NEW", name="New", by=None)
    moves = {g.name: (g.from_status, g.to_status) for g in QualityGate.objects.filter(project=project)}
    assert moves == {
        "Code complete -> Test": ("planning", "testing"),
        "Release candidate -> Production": ("ready", "released"),
        "Production -> Operations handover": ("released", "handed_over"),
    }


def test_gate_cannot_guard_a_move_the_lifecycle_forbids(project, admin):
    with pytest.raises(DomainError) as exc:
        services.gate_create(
            project=project, name="Odd", by=admin, from_status="planning", to_status="released"
        )
    assert "planning->released is not one" in exc.value.message
    assert not QualityGate.objects.filter(name="Odd").exists()


def test_move_without_decision_is_refused_with_gate_and_audited(gate, ready, metric_values, admin):
    # given a ready release whose go-live is guarded by a gate without a decision; the mover is an admin
    # when the admin moves it to released
    with pytest.raises(ConflictError) as exc:
        release_services.release_move(release=ready, to="released", by=admin)
    # then it is refused (no role bypasses it), naming the gate, and the refusal is in the audit log
    assert exc.value.status_code == 409 and exc.value.code == "gate_refused"
    assert "RC gate" in exc.value.message and "no go decision" in exc.value.message
    assert exc.value.details["gates"][0]["state"] == DecisionState.NONE
    ready.refresh_from_db()
    assert ready.status == "ready" and ready.actual_release_date is None
    refusal = AuditEvent.objects.get(action="release.move_refused")
    assert refusal.actor == admin and refusal.release == ready and refusal.data["to"] == "released"
    assert not AuditEvent.objects.filter(action="release.moved").exists()


def test_superuser_cannot_bypass_the_guard(gate, ready):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    with pytest.raises(ConflictError):
        release_services.release_update(release=ready, data={"status": "released", "name": "x"}, by=root)
    ready.refresh_from_db()
    assert ready.status == "ready" and ready.name == ""


def test_no_go_blocks_and_go_permits(gate, ready, rm, metric_values):
    # given a no-go in force
    metric_values(FAILING)
    services.decision_record(release=ready, gate=gate, decision="no_go", rationale="Too red", by=rm)
    # then the move is refused with the no-go named
    with pytest.raises(ConflictError) as exc:
        release_services.release_move(release=ready, to="released", by=rm)
    assert "no-go is in force" in exc.value.message
    # when a go is recorded on a passing evaluation
    metric_values(PASSING)
    services.signoff_create(item=gate.checklist_items.get(), release=ready, by=rm, comment="ok")
    services.decision_record(release=ready, gate=gate, decision="go", rationale="Green", by=rm)
    # then the move happens and is audited
    moved = release_services.release_move(release=ready, to="released", by=rm)
    assert moved.status == "released" and moved.actual_release_date is not None
    assert AuditEvent.objects.filter(action="release.moved", release=ready).count() == 1


def test_every_guarding_gate_needs_a_go(gate, ready, rm, metric_values, project):
    # given a second gate on the same move, and a go at the first only
    QualityGate.objects.create(project=project, name="Security sign-off", order=2)
    metric_values(PASSING)
    services.signoff_create(item=gate.checklist_items.get(), release=ready, by=rm, comment="ok")
    services.decision_record(release=ready, gate=gate, decision="go", rationale="Green", by=rm)
    # then the move is refused because of the second gate only
    with pytest.raises(ConflictError) as exc:
        release_services.release_move(release=ready, to="released", by=rm)
    assert [g["gate"] for g in exc.value.details["gates"]] == ["Security sign-off"]


def test_unguarded_moves_and_cancelling_need_no_decision(gate, ready, rm):
    # the RC gate guards ready->released only: stepping back and cancelling are free
    release_services.release_move(release=ready, to="testing", by=rm)
    release_services.release_move(release=ready, to="cancelled", by=rm)
    ready.refresh_from_db()
    assert ready.status == "cancelled"


def test_suspended_go_blocks(gate, ready, rm, metric_values):
    metric_values(PASSING)
    services.signoff_create(item=gate.checklist_items.get(), release=ready, by=rm, comment="ok")
    decision = services.decision_record(release=ready, gate=gate, decision="go", rationale="Green", by=rm)
    DecisionSuspension.objects.create(
        decision=decision, reason=SuspensionReason.KEY_CONDITION_FAILED, detail="key condition failed: x"
    )
    verdict = move_verdicts(release=ready, to_status="released")[0]
    assert verdict.state == DecisionState.SUSPENDED and not verdict.permits
    with pytest.raises(ConflictError) as exc:
        release_services.release_move(release=ready, to="released", by=rm)
    assert "suspended: key condition failed" in exc.value.message


def test_api_patch_answers_409_with_the_gate(gate, ready, rm, api_client_for):
    client = api_client_for(rm)
    response = client.patch(f"/api/v1/releases/{ready.pk}/", {"status": "released"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "gate_refused" and "RC gate" in body["detail"]
    assert body["gates"][0]["gate_id"] == gate.pk
    ready.refresh_from_db()
    assert ready.status == "ready"
    assert AuditEvent.objects.filter(action="release.move_refused", release=ready).exists()


def test_current_gates_are_those_of_the_next_move(project, django_assert_max_num_queries):
    planning_gate = QualityGate.objects.create(
        project=project, name="A", from_status="planning", to_status="testing"
    )
    rc_gate = QualityGate.objects.create(project=project, name="B", from_status="ready", to_status="released")
    releases = [
        ReleaseFactory(project=project, version=status, status=status)
        for status in ("planning", "testing", "ready", "handed_over")
        if status != "handed_over"
    ]
    releases.append(
        ReleaseFactory(
            project=project, version="old", status="handed_over", actual_release_date=timezone.now()
        )
    )
    with django_assert_max_num_queries(1):
        found = current_gates_by_release(releases=releases)
    assert [[g.pk for g in found[r.pk]] for r in releases] == [[planning_gate.pk], [], [rc_gate.pk], []]
    other = ProjectFactory(key="OPS")
    assert current_gates_by_release(releases=[ReleaseFactory(project=other, status="ready")]) != {}


# --- The suspension rule (pure) --------------------------------------------------------------------------------

TODAY = dt.date(2026, 11, 30)


def _w(condition=None, item=None, expires=TODAY, subject="s"):
    return SimpleNamespace(
        condition_id=condition, checklist_item_id=item, expires=expires, subject=subject, pk=1
    )


def _c(cid, outcome, key=False):
    return {
        "condition": cid,
        "metric": "m",
        "operator": "lte",
        "error_threshold": 0,
        "value": 1,
        "outcome": outcome,
        "key": key,
    }


@pytest.mark.parametrize(
    ("kind", "waivers", "conditions", "checklist", "expected"),
    [
        ("go", [], [_c(1, "passed")], [], None),
        ("no_go", [], [_c(1, "failed", key=True)], [], None),
        ("go", [], [_c(1, "failed", key=True)], [], "key_condition_failed"),
        ("go_with_waivers", [_w(condition=1)], [_c(1, "failed", key=True)], [], "key_condition_failed"),
        ("go_with_waivers", [_w(condition=1)], [_c(1, "failed")], [], None),
        ("go_with_waivers", [_w(condition=1)], [_c(1, "failed"), _c(2, "failed")], [], "uncovered_failure"),
        ("go", [], [], [{"item": 5, "text": "t", "outcome": "failed"}], "uncovered_failure"),
        ("go_with_waivers", [_w(item=5)], [], [{"item": 5, "text": "t", "outcome": "failed"}], None),
        (
            "go_with_waivers",
            [_w(condition=1, expires=TODAY - dt.timedelta(days=1))],
            [_c(1, "passed")],
            [],
            "waiver_expired",
        ),
        # an expired waiver no longer covers its failure
        (
            "go_with_waivers",
            [_w(condition=1, expires=TODAY - dt.timedelta(days=1))],
            [_c(1, "failed")],
            [],
            "uncovered_failure",
        ),
    ],
)
def test_suspension_reason(kind, waivers, conditions, checklist, expected):
    found = suspension_reason(
        kind=kind, waivers=waivers, conditions=conditions, checklist=checklist, today=TODAY
    )
    assert (found[0] if found else None) == expected
