"""Gate services: definitions, sign-offs, evaluations, freshness, the schedule, and their audit trail."""

import datetime as dt

import pytest
from django.utils import timezone

from gates import services
from gates.models import AuditEvent, ChecklistSignoff, GateEvaluation, QualityGate
from gates.tasks import evaluate_scheduled_gates
from qualitygov.errors import AccessDenied, ConflictError, DomainError
from releases.models import Role
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db

GOOD = {"blocking_open_defects": 0, "test_pass_rate": 99.0, "reopen_rate": 2.0}


def test_evaluation_stores_definition_values_thresholds_and_outcomes(gate, release, metric_values, cond, qa):
    # given metric values that pass the key condition, warn on pass rate, and no data on reopen rate (ignored)
    metric_values({"blocking_open_defects": 0, "test_pass_rate": 96.5})
    # when the gate is evaluated
    ev = services.gate_evaluate(gate=gate, release=release, by=qa, via="api")
    # then every condition is stored with its value, thresholds and outcome, and the definition with its revision
    rows = {r["metric"]: r for r in ev.conditions}
    assert rows["blocking_open_defects"]["outcome"] == "passed"
    assert rows["test_pass_rate"] == rows["test_pass_rate"] | {
        "condition": cond("test_pass_rate").pk,
        "value": 96.5,
        "operator": "gte",
        "error_threshold": 95,
        "warn_threshold": 98,
        "outcome": "warned",
        "key": False,
        "missing_data": "fail",
        "no_data": False,
    }
    assert rows["reopen_rate"]["outcome"] == "no_data" and rows["reopen_rate"]["no_data"] is True
    assert ev.definition["revision"] == gate.revision and len(ev.definition["conditions"]) == 3
    # and the unsigned checklist item fails the gate
    assert ev.checklist[0]["outcome"] == "failed" and ev.status == "failed"
    assert (ev.requested_by, ev.requested_via) == (qa, "api")
    assert AuditEvent.objects.filter(action="evaluation.created", data__evaluation=ev.pk, actor=qa).exists()


def test_signed_checklist_and_good_values_pass(gate, release, metric_values, rm):
    # given good values and a signed checklist
    metric_values(GOOD)
    services.signoff_create(
        item=gate.checklist_items.get(), release=release, by=rm, comment="Reviewed with ops"
    )
    # when evaluated / then passed, and the sign-off is recorded with who and the comment
    ev = services.gate_evaluate(gate=gate, release=release, by=rm)
    assert ev.status == "passed"
    assert ev.checklist[0] | {} == ev.checklist[0] and ev.checklist[0]["signed_by"] == rm.username
    assert ev.checklist[0]["comment"] == "Reviewed with ops"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"blocking_open_defects": 1, "test_pass_rate": 99.0, "reopen_rate": 1.0}, "failed"),
        ({"blocking_open_defects": 0, "test_pass_rate": 97.0, "reopen_rate": 1.0}, "warned"),
        ({"blocking_open_defects": 0, "test_pass_rate": 99.0, "reopen_rate": 7.0}, "warned"),
        ({"blocking_open_defects": 0, "test_pass_rate": 99.0}, "passed"),  # reopen rate ignored when missing
        (
            {"test_pass_rate": 99.0, "reopen_rate": 1.0},
            "failed",
        ),  # missing blocking count fails (policy fail)
    ],
)
def test_overall_status_follows_the_contract(gate, release, metric_values, values, expected, rm):
    # given the checklist signed and the values
    metric_values(values)
    services.signoff_create(item=gate.checklist_items.get(), release=release, by=rm)
    # when evaluated / then the overall status is the worst counted outcome
    assert services.gate_evaluate(gate=gate, release=release, by=rm).status == expected


@pytest.mark.parametrize("role", [Role.VIEWER])
def test_viewer_cannot_evaluate(gate, release, metric_values, make_member, role):
    metric_values(GOOD)
    with pytest.raises(AccessDenied):
        services.gate_evaluate(gate=gate, release=release, by=make_member(role))
    assert not GateEvaluation.objects.exists()


def test_evaluations_are_append_only(gate, release, metric_values):
    metric_values(GOOD)
    ev = services.gate_evaluate(gate=gate, release=release, by=None, via="schedule")
    ev.status = "passed"
    with pytest.raises(ValueError, match="append-only"):
        ev.save()
    with pytest.raises(ValueError, match="append-only"):
        ev.delete()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.RELEASE_MANAGER, True),
        (Role.ADMIN, False),
        (Role.MANAGER, False),
        (Role.QA, False),
        (Role.VIEWER, False),
    ],
)
def test_only_the_named_role_signs_a_checklist_item(gate, release, make_member, role, allowed):
    # given an item to be signed by release managers
    item = gate.checklist_items.get()
    user = make_member(role)
    # when a user of the role signs
    if allowed:
        services.signoff_create(item=item, release=release, by=user, comment="ok")
        assert ChecklistSignoff.objects.filter(item=item, release=release, revoked_at=None).count() == 1
    else:
        with pytest.raises(AccessDenied):
            services.signoff_create(item=item, release=release, by=user, comment="ok")
        # then nothing is written
        assert not ChecklistSignoff.objects.exists()
        assert not AuditEvent.objects.filter(action__startswith="signoff").exists()


def test_revoke_keeps_history_with_reason_and_allows_a_new_signoff(gate, release, rm, viewer):
    # given a sign-off
    item = gate.checklist_items.get()
    first = services.signoff_create(item=item, release=release, by=rm, comment="done")
    with pytest.raises(ConflictError):
        services.signoff_create(item=item, release=release, by=rm, comment="twice")
    # when revoked without a reason / then refused
    with pytest.raises(DomainError, match="reason"):
        services.signoff_revoke(signoff=first, by=rm, reason="  ")
    # when revoked by a viewer / then refused
    with pytest.raises(AccessDenied):
        services.signoff_revoke(signoff=first, by=viewer, reason="nope")
    # when revoked with a reason
    services.signoff_revoke(signoff=first, by=rm, reason="Plan changed after review")
    first.refresh_from_db()
    # then the row stays with who, when and why, and a new sign-off is possible
    assert first.revoked_by == rm and first.revoke_reason == "Plan changed after review" and first.revoked_at
    services.signoff_create(item=item, release=release, by=rm, comment="re-reviewed")
    assert ChecklistSignoff.objects.filter(item=item, release=release).count() == 2
    actions = list(
        AuditEvent.objects.filter(release=release, action__startswith="signoff").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["signoff.revoked", "signoff.signed", "signoff.signed"]
    # each sign-off and revocation evaluated the gate at once (issue 13: the card follows the checklist)
    assert (
        list(
            GateEvaluation.objects.filter(release=release)
            .order_by("id")
            .values_list("requested_via", flat=True)
        )
        == ["signoff"] * 3
    )


def test_signoff_for_a_release_of_another_project_is_refused(gate, rm):
    other = ReleaseFactory(version="9.9")
    with pytest.raises(DomainError, match="another project"):
        services.signoff_create(item=gate.checklist_items.get(), release=other, by=rm)


@pytest.mark.parametrize("role", [Role.RELEASE_MANAGER, Role.MANAGER, Role.QA, Role.VIEWER])
def test_only_admins_create_or_edit_gates(project, gate, make_member, role):
    user = make_member(role)
    with pytest.raises(AccessDenied):
        services.gate_create(project=project, name="Mine", by=user)
    with pytest.raises(AccessDenied):
        services.gate_update(gate=gate, by=user, data={"name": "Renamed"})
    assert not QualityGate.objects.filter(name__in=["Mine", "Renamed"]).exists()
    gate.refresh_from_db()
    assert gate.revision == 1


def test_gate_update_bumps_revision_and_logs_before_and_after(gate, cond, admin):
    # given an admin and the gate at revision 1
    keep = cond("test_pass_rate")
    # when the conditions are replaced: one changed, one added, the others removed
    services.gate_update(
        gate=gate,
        by=admin,
        expected_revision=1,
        data={
            "conditions": [
                {
                    "id": keep.pk,
                    "metric": "test_pass_rate",
                    "operator": "gte",
                    "error_threshold": 90,
                    "warn_threshold": 98,
                },
                {"metric": "flaky_test_rate", "operator": "lte", "error_threshold": 5},
            ],
        },
    )
    gate.refresh_from_db()
    # then the revision moved on, the rows match, and the audit row holds both definitions
    assert gate.revision == 2
    assert sorted(gate.conditions.values_list("metric", flat=True)) == ["flaky_test_rate", "test_pass_rate"]
    event = AuditEvent.objects.get(action="gate.changed")
    assert event.data["before"]["revision"] == 1 and event.data["after"]["revision"] == 2
    assert len(event.data["before"]["conditions"]) == 3
    # and a stale revision is refused with a conflict
    with pytest.raises(ConflictError):
        services.gate_update(gate=gate, by=admin, expected_revision=1, data={"name": "Late edit"})


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"metric": "no_such_metric", "operator": "gte", "error_threshold": 1}, "unknown metric"),
        ({"metric": "test_pass_rate", "operator": "between", "error_threshold": 1}, "operator"),
        ({"metric": "test_pass_rate", "operator": "gte", "error_threshold": "x"}, "numbers"),
        (
            {"metric": "test_pass_rate", "operator": "gte", "error_threshold": 95, "warn_threshold": 90},
            "stricter",
        ),
        (
            {"metric": "test_pass_rate", "operator": "gte", "error_threshold": 95, "missing_data": "maybe"},
            "missing_data",
        ),
    ],
)
def test_bad_conditions_are_refused_with_a_message(project, condition, message, admin):
    with pytest.raises(DomainError, match=message):
        services.gate_create(project=project, name="Bad", by=admin, conditions=[condition])
    assert not QualityGate.objects.filter(name="Bad").exists()


def test_fresh_evaluation_goes_stale_on_age_signoff_or_gate_edit(gate, release, metric_values, make_member):
    metric_values(GOOD)
    rm, admin = make_member(Role.RELEASE_MANAGER), make_member(Role.ADMIN)
    ev = services.gate_evaluate(gate=gate, release=release, by=rm)
    # a new evaluation is fresh
    assert services.evaluation_is_fresh(evaluation=ev)
    # older than the freshness window: stale
    later = timezone.now() + dt.timedelta(minutes=services.FRESH_MINUTES + 1)
    assert not services.evaluation_is_fresh(evaluation=ev, now=later)
    # a sign-off after it: stale
    services.signoff_create(item=gate.checklist_items.get(), release=release, by=rm)
    assert not services.evaluation_is_fresh(evaluation=ev)
    ev2 = services.gate_evaluate(gate=gate, release=release, by=rm)
    assert services.evaluation_is_fresh(evaluation=ev2) and not services.evaluation_is_fresh(evaluation=ev)
    # a gate edit: stale
    services.gate_update(gate=gate, by=admin, data={"description": "edited"})
    assert not services.evaluation_is_fresh(evaluation=ev2)


def test_scheduled_task_evaluates_active_gates_for_active_releases(project, gate, release, metric_values):
    # given a ready release (the gate guards ready -> released: its current gate), a released one, an inactive
    # gate; issue 13: a release is evaluated against its current gates only
    release.status = "ready"
    release.save(update_fields=["status"])
    metric_values(GOOD)
    ReleaseFactory(project=project, version="1.0", status="released", actual_release_date=timezone.now())
    QualityGate.objects.create(project=project, name="Off", is_active=False)
    # when the beat task runs
    count = evaluate_scheduled_gates()
    # then only the active gate for the active release was evaluated, marked as scheduled
    assert count == 1
    ev = GateEvaluation.objects.get()
    assert (ev.gate, ev.release, ev.requested_via, ev.requested_by) == (gate, release, "schedule", None)


def test_evaluate_gates_command_evaluates_once_and_if_never_skips_after(
    project, gate, release, metric_values
):
    from io import StringIO

    from django.core.management import call_command

    metric_values(GOOD)
    # issue 13: only the gates guarding each release's next move are evaluated (the gate guards ready -> released)
    release.status = "ready"
    release.save(update_fields=["status"])
    ReleaseFactory(project=project, version="9.1", status="ready")
    ReleaseFactory(project=project, version="9.2", status="planning")
    out = StringIO()
    call_command("evaluate_gates", "--no-progress", "--if-never", stdout=out)
    assert "Evaluated 2 gate(s)" in out.getvalue()
    assert set(GateEvaluation.objects.values_list("release__version", flat=True)) == {release.version, "9.1"}
    # --if-never: evaluations exist now, nothing more is written
    out = StringIO()
    call_command("evaluate_gates", "--no-progress", "--if-never", stdout=out)
    assert "nothing to do" in out.getvalue() and GateEvaluation.objects.count() == 2
    # without it, every pair is evaluated again
    call_command("evaluate_gates", "--no-progress", stdout=StringIO())
    assert GateEvaluation.objects.count() == 4


@pytest.mark.parametrize("evidence", ["test_run", "defect_move"])
def test_new_evidence_makes_an_evaluation_stale(gate, release, metric_values, evidence, qa):
    from tests import factories

    # given a fresh evaluation
    metric_values(GOOD)
    ev = services.gate_evaluate(gate=gate, release=release, by=qa)
    assert services.evaluation_is_fresh(evaluation=ev)
    # when a test run is recorded for the release, or one of its defects moves
    if evidence == "test_run":
        factories.TestRunFactory(release=release)
    else:
        factories.DefectFactory(project=release.project, found_in_release=release)
    # then it is stale: a decision would re-evaluate
    assert not services.evaluation_is_fresh(evaluation=ev)
