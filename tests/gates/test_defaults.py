"""The default gates a new project starts with."""

import pytest

from gates.models import AuditEvent, QualityGate
from gates.services import gate_evaluate, gates_create_defaults
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_new_project_gets_three_default_gates_with_conditions_and_checklists():
    # given a project without gates
    project = ProjectFactory(key="NEW")
    QualityGate.objects.filter(project=project).delete()
    # when the defaults are created
    gates = gates_create_defaults(project=project, by=None)
    # then there are the three named gates, each with conditions and checklist items, and an audit row each
    assert [g.name for g in gates] == [
        "Code complete -> Test",
        "Release candidate -> Production",
        "Production -> Operations handover",
    ]
    rc = gates[1]
    blocking = rc.conditions.get(metric="blocking_open_defects")
    assert (blocking.operator, blocking.error_threshold, blocking.key) == ("lte", 0, True)
    pass_rate = rc.conditions.get(metric="test_pass_rate")
    assert (pass_rate.operator, pass_rate.error_threshold, pass_rate.warn_threshold) == ("gte", 95, 98)
    assert set(rc.checklist_items.values_list("role", flat=True)) == {"release_manager", "manager"}
    assert {c.metric for c in gates[2].conditions.all()} == {
        "mttr_hours",
        "change_failure_rate",
        "stability_index",
    }
    assert all(g.checklist_items.exists() for g in gates)
    assert AuditEvent.objects.filter(project=project, action="gate.created").count() == 3


def test_default_gates_are_created_once():
    # given a project that already has the defaults
    project = ProjectFactory(key="TWICE")
    gates_create_defaults(project=project, by=None)
    # when they are asked for again
    again = gates_create_defaults(project=project, by=None)
    # then nothing new is made
    assert again == []
    assert QualityGate.objects.filter(project=project).count() == 3


def test_default_gates_of_a_new_project_evaluate_on_real_metrics():
    """No stubbed metrics: every default condition's key is known to the registry and computes."""
    from metrics.registry import REGISTRY
    from releases.models import Role
    from releases.services import project_create
    from tests.factories import MembershipFactory, ReleaseFactory, UserFactory

    # given a project made the normal way, and an empty release
    admin = UserFactory(username="founder")
    project = project_create(key="REAL", name="Real", by=admin)
    release = ReleaseFactory(project=project, version="1.0", status="testing")
    qa = UserFactory(username="qa_real")
    MembershipFactory(project=project, user=qa, role=Role.QA)
    gates = list(QualityGate.objects.filter(project=project).order_by("order"))
    assert len(gates) == 3
    assert all(c.metric in REGISTRY for g in gates for c in g.conditions.all())
    # when each gate is evaluated
    evaluations = [gate_evaluate(gate=g, release=release, by=qa) for g in gates]
    # then each is stored; an empty release cannot pass the RC gate (no tests: pass rate has no data -> fails)
    rc = {r["metric"]: r for r in evaluations[1].conditions}
    assert rc["test_pass_rate"]["value"] is None and rc["test_pass_rate"]["outcome"] == "failed"
    assert rc["blocking_open_defects"]["value"] == 0 and rc["blocking_open_defects"]["outcome"] == "passed"
    assert evaluations[1].status == "failed"
    assert all(e.definition["revision"] == 1 for e in evaluations)
