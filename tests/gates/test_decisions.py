"""Go/no-go decisions: every rule of the contract's decision section."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from gates import services
from gates.models import AuditEvent, Decision, GateEvaluation, Waiver
from qualitygov.errors import AccessDenied, DomainError
from releases.models import Role
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db

PASSING = {"blocking_open_defects": 0, "test_pass_rate": 99.0, "reopen_rate": 1.0}
WARNING = {"blocking_open_defects": 0, "test_pass_rate": 96.0, "reopen_rate": 1.0}
FAILING = {"blocking_open_defects": 0, "test_pass_rate": 90.0, "reopen_rate": 1.0}  # + unsigned checklist
KEY_FAILING = {"blocking_open_defects": 2, "test_pass_rate": 99.0, "reopen_rate": 1.0}
TOMORROW = (timezone.now() + dt.timedelta(days=1)).date()


def _sign(gate, release, rm):
    services.signoff_create(item=gate.checklist_items.get(), release=release, by=rm, comment="ok")


def _waivers(gate, rm, *, condition_metrics=("test_pass_rate",), item=True, **extra):
    rows = [
        {
            "condition": gate.conditions.get(metric=m).pk,
            "justification": f"Accepted risk on {m}",
            "owner": rm.username,
            "expires": TOMORROW,
            **extra,
        }
        for m in condition_metrics
    ]
    if item:
        rows.append(
            {
                "checklist_item": gate.checklist_items.get().pk,
                "justification": "Plan reviewed verbally",
                "owner": rm,
                "expires": TOMORROW.isoformat(),
                **extra,
            }
        )
    return rows


def _nothing_written(before_decisions=0):
    assert Decision.objects.count() == before_decisions
    assert not Waiver.objects.exists()
    assert not AuditEvent.objects.filter(action__in=["decision.recorded", "waiver.created"]).exists()


@pytest.mark.parametrize(("values", "signed"), [(PASSING, True), (WARNING, True)])
def test_go_is_allowed_on_passed_or_warned(gate, release, metric_values, rm, values, signed):
    # given a passed or warned evaluation
    metric_values(values)
    _sign(gate, release, rm)
    ev = services.gate_evaluate(gate=gate, release=release, by=rm)
    # when the release manager records go on it
    d = services.decision_record(
        release=release, gate=gate, evaluation=ev, decision="go", rationale="All good", by=rm
    )
    # then it rests on that evaluation and is logged
    assert (d.decision, d.evaluation, d.decided_by) == ("go", ev, rm)
    assert AuditEvent.objects.filter(action="decision.recorded", data__decision=d.pk).exists()


def test_go_is_refused_on_a_failed_evaluation_naming_the_failures(gate, release, metric_values, rm):
    metric_values(FAILING)
    ev = services.gate_evaluate(gate=gate, release=release, by=rm)
    with pytest.raises(DomainError, match="test_pass_rate.*Rollback plan reviewed"):
        services.decision_record(
            release=release, gate=gate, evaluation=ev, decision="go", rationale="Ship", by=rm
        )
    _nothing_written()


@pytest.mark.parametrize("values", [PASSING, FAILING, KEY_FAILING])
def test_no_go_is_always_allowed(gate, release, metric_values, rm, values):
    metric_values(values)
    d = services.decision_record(release=release, gate=gate, decision="no_go", rationale="Not ready", by=rm)
    assert d.decision == "no_go" and not d.waivers.exists()


def test_go_with_waivers_needs_one_waiver_per_failure(gate, release, metric_values, rm):
    # given a failed evaluation with a failed condition and an unsigned item
    metric_values(FAILING)
    ev = services.gate_evaluate(gate=gate, release=release, by=rm)
    # when go_with_waivers is recorded with a waiver for each
    d = services.decision_record(
        release=release,
        gate=gate,
        evaluation=ev,
        decision="go_with_waivers",
        rationale="Known flaky suite; rollback plan agreed",
        by=rm,
        waivers=_waivers(gate, rm),
    )
    # then two waivers are stored with subject, owner and expiry, each logged
    waivers = list(d.waivers.order_by("id"))
    assert len(waivers) == 2
    assert waivers[0].condition.metric == "test_pass_rate" and "90" in waivers[0].subject
    assert waivers[1].checklist_item == gate.checklist_items.get()
    assert {w.owner for w in waivers} == {rm} and {w.expires for w in waivers} == {TOMORROW}
    assert AuditEvent.objects.filter(action="waiver.created").count() == 2


@pytest.mark.parametrize(
    ("waivers_of", "message"),
    [
        ({"condition_metrics": (), "item": True}, "missing for: test_pass_rate"),
        ({"condition_metrics": ("test_pass_rate",), "item": False}, "missing for: checklist: Rollback plan"),
        ({"condition_metrics": ("test_pass_rate", "test_pass_rate"), "item": True}, "waived twice"),
        ({"condition_metrics": ("test_pass_rate", "reopen_rate"), "item": True}, "did not fail"),
        ({"condition_metrics": ("test_pass_rate",), "item": True, "justification": " "}, "justification"),
        (
            {"condition_metrics": ("test_pass_rate",), "item": True, "owner": "ghost"},
            "owner 'ghost' is not a member of PAY",
        ),
        (
            {"condition_metrics": ("test_pass_rate",), "item": True, "expires": timezone.now().date()},
            "future",
        ),
        ({"condition_metrics": ("test_pass_rate",), "item": True, "expires": "31/12/2030"}, "not a date"),
    ],
)
def test_go_with_waivers_refused_unless_waivers_match_failures_exactly(
    gate, release, metric_values, rm, waivers_of, message
):
    metric_values(FAILING)
    ev = services.gate_evaluate(gate=gate, release=release, by=rm)
    with pytest.raises(DomainError, match=message):
        services.decision_record(
            release=release,
            gate=gate,
            evaluation=ev,
            decision="go_with_waivers",
            rationale="Risk accepted",
            by=rm,
            waivers=_waivers(gate, rm, **waivers_of),
        )
    _nothing_written()


def test_waiver_owner_must_be_a_project_member(gate, release, metric_values, rm):
    from tests.factories import UserFactory

    outsider = UserFactory(username="outsider")
    metric_values(FAILING)
    ev = services.gate_evaluate(gate=gate, release=release, by=rm)
    with pytest.raises(DomainError, match="not a member"):
        services.decision_record(
            release=release,
            gate=gate,
            evaluation=ev,
            decision="go_with_waivers",
            rationale="Risk accepted",
            by=rm,
            waivers=_waivers(gate, rm, owner=outsider.username),
        )
    _nothing_written()


def test_a_failed_key_condition_cannot_be_waived_and_is_named(gate, release, metric_values, rm):
    metric_values(KEY_FAILING)
    ev = services.gate_evaluate(gate=gate, release=release, by=rm)
    waivers = _waivers(gate, rm, condition_metrics=("blocking_open_defects",))
    with pytest.raises(DomainError, match="key condition cannot be waived: blocking_open_defects"):
        services.decision_record(
            release=release,
            gate=gate,
            evaluation=ev,
            decision="go_with_waivers",
            rationale="Please",
            by=rm,
            waivers=waivers,
        )
    _nothing_written()


@pytest.mark.parametrize("values", [PASSING, WARNING])
def test_go_with_waivers_is_refused_when_nothing_failed(gate, release, metric_values, rm, values):
    metric_values(values)
    _sign(gate, release, rm)
    with pytest.raises(DomainError, match="nothing to waive"):
        services.decision_record(
            release=release, gate=gate, decision="go_with_waivers", rationale="x", by=rm, waivers=[]
        )
    _nothing_written()


@pytest.mark.parametrize("kind", ["go", "no_go"])
def test_waivers_only_with_go_with_waivers(gate, release, metric_values, rm, kind):
    metric_values(PASSING)
    _sign(gate, release, rm)
    with pytest.raises(DomainError, match="Waivers belong"):
        services.decision_record(
            release=release, gate=gate, decision=kind, rationale="x", by=rm, waivers=_waivers(gate, rm)
        )
    _nothing_written()


@pytest.mark.parametrize(
    ("decision", "rationale", "message"), [("maybe", "x", "decision must be"), ("go", "   ", "rationale")]
)
def test_bad_decision_or_empty_rationale_refused(
    gate, release, metric_values, rm, decision, rationale, message
):
    metric_values(PASSING)
    with pytest.raises(DomainError, match=message):
        services.decision_record(release=release, gate=gate, decision=decision, rationale=rationale, by=rm)
    _nothing_written()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.QA, Role.VIEWER, None])
def test_only_release_managers_decide(gate, release, metric_values, make_member, role):
    from tests.factories import UserFactory

    metric_values(PASSING)
    user = make_member(role) if role else UserFactory(username="su", is_superuser=True)
    with pytest.raises(AccessDenied):
        services.decision_record(release=release, gate=gate, decision="no_go", rationale="x", by=user)
    _nothing_written()
    assert not GateEvaluation.objects.exists()


def test_evaluation_of_another_gate_or_release_is_refused(project, gate, release, metric_values, rm):
    metric_values(PASSING)
    other_release = ReleaseFactory(project=project, version="3.0")
    ev = services.gate_evaluate(gate=gate, release=other_release, by=rm)
    with pytest.raises(DomainError, match="another gate or release"):
        services.decision_record(
            release=release, gate=gate, evaluation=ev, decision="no_go", rationale="x", by=rm
        )
    _nothing_written()


def test_stale_evaluation_is_replaced_by_a_fresh_one(gate, release, metric_values, rm):
    # given an evaluation that failed, then the checklist was signed and values improved
    metric_values(FAILING)
    old = services.gate_evaluate(gate=gate, release=release, by=rm)
    metric_values(PASSING)
    _sign(gate, release, rm)
    # when go is recorded on the old evaluation
    d = services.decision_record(
        release=release, gate=gate, evaluation=old, decision="go", rationale="Fixed", by=rm
    )
    # then the decision rests on a fresh, passed evaluation made for the decision
    assert (
        d.evaluation != old and d.evaluation.status == "passed" and d.evaluation.requested_via == "decision"
    )


def test_missing_evaluation_is_made_at_decision_time(gate, release, metric_values, rm):
    metric_values(PASSING)
    _sign(gate, release, rm)
    d = services.decision_record(release=release, gate=gate, decision="go", rationale="Green", by=rm)
    # (the sign-off evaluated the gate too: issue 13, the gate follows its checklist at once)
    assert d.evaluation.status == "passed" and d.evaluation.requested_via == "decision"
    assert GateEvaluation.objects.filter(requested_via="decision").count() == 1


def test_a_later_decision_supersedes_the_earlier_and_both_stay(gate, release, metric_values, rm):
    metric_values(FAILING)
    first = services.decision_record(release=release, gate=gate, decision="no_go", rationale="Red", by=rm)
    second = services.decision_record(
        release=release, gate=gate, decision="no_go", rationale="Still red", by=rm
    )
    third = services.decision_record(
        release=release,
        gate=gate,
        decision="go_with_waivers",
        rationale="Accepted",
        by=rm,
        waivers=_waivers(gate, rm),
    )
    assert (second.supersedes, third.supersedes, first.supersedes) == (first, second, None)
    assert first.superseded_by == second
    with pytest.raises(ValueError, match="append-only"):
        first.delete()
    with pytest.raises(ValueError, match="append-only"):
        third.save()


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_on_the_same_release_form_one_chain(project, gate, release, metric_values, rm):
    """Two release managers decide at once: both land or one gets a conflict, never a fork in the chain."""
    if connection.vendor != "postgresql":
        pytest.skip("Row locks need PostgreSQL; SQLite serialises writers anyway.")
    # given a passed evaluation
    metric_values(PASSING)
    _sign(gate, release, rm)
    services.decision_record(release=release, gate=gate, decision="no_go", rationale="Initial", by=rm)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def decide(label):
        from django.db import connection as conn

        try:
            barrier.wait()
            services.decision_record(release=release, gate=gate, decision="go", rationale=label, by=rm)
            outcomes.append("ok")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            conn.close()

    # when two threads record a decision at the same instant
    threads = [threading.Thread(target=decide, args=(f"t{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then each one either landed or got a conflict, and the decisions form one linear chain
    assert set(outcomes) <= {"ok", "ConflictError"} and len(outcomes) == 2
    decisions = list(Decision.objects.filter(release=release, gate=gate))
    heads = [d for d in decisions if not Decision.objects.filter(supersedes=d).exists()]
    assert len(heads) == 1
    assert len({d.supersedes_id for d in decisions}) == len(decisions)
    assert len(decisions) == 1 + outcomes.count("ok")
