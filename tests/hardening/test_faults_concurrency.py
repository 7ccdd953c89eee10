"""Concurrency on PostgreSQL, through the API, with real threads (one database connection each).

* Several release managers record a decision for the same release and gate at the same instant: every one is
  recorded (decisions are append-only), they form one chain (each supersedes exactly the one before it), exactly
  one is current, and the audit log has one consistent `decision.recorded` event per decision.
* QA leads move the same defect at the same instant: with the version they loaded, one wins and the others get
  409; without a version the moves serialise on the row lock and the history chains without gaps.
  (tests/defects/test_concurrency_pg.py covers the same races one level down, at the service.)
"""

from __future__ import annotations

import threading
from functools import partial

import pytest
from django.db import connection

from defects import services as defect_services
from defects.models import Defect
from gates.models import AuditEvent, Decision, GateCondition, GateEvaluation, QualityGate
from releases.models import Role

from .faultkit import require_postgres

pytestmark = pytest.mark.django_db(transaction=True)


def _race(calls) -> list:
    """Run each zero-argument callable in its own thread, released together; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int, call) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as exc:  # reported by the assertions below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a request never finished (deadlock?)"
    return results


@pytest.fixture
def passing_gate(project):
    """A gate whose only condition passes for a release without defects."""
    gate = QualityGate.objects.create(project=project, name="Release candidate", order=1)
    GateCondition.objects.create(
        gate=gate, metric="blocking_open_defects", operator="lte", error_threshold=0, order=0
    )
    return gate


def test_release_managers_deciding_at_once_form_one_chain(
    project, release, passing_gate, make_member, api_client_for
):
    require_postgres("real row locks")
    # given four release managers, each with their own token, and no decision yet
    managers = [make_member(Role.RELEASE_MANAGER, username=f"rm{i}") for i in range(4)]
    kinds = ["go", "no_go", "go", "no_go"]
    calls = [
        partial(
            api_client_for(rm).post,
            "/api/v1/decisions/",
            {
                "release": release.pk,
                "gate": passing_gate.pk,
                "decision": kind,
                "rationale": f"{rm.username}: {kind}",
            },
            format="json",
        )
        for rm, kind in zip(managers, kinds, strict=True)
    ]
    # when all of them decide at the same instant
    responses = _race(calls)
    # then every decision is recorded (the contract allows any number; a later one supersedes the earlier)
    assert [getattr(r, "status_code", r) for r in responses] == [201] * len(managers), [
        getattr(r, "content", r) for r in responses
    ]
    decisions = list(Decision.objects.filter(release=release, gate=passing_gate).order_by("decided_at", "id"))
    assert len(decisions) == len(managers)
    # and they form one chain without forks: the first supersedes nothing, each other exactly its predecessor
    assert decisions[0].supersedes_id is None
    assert [d.supersedes_id for d in decisions[1:]] == [d.pk for d in decisions[:-1]]
    # and exactly one is current
    current = Decision.objects.filter(release=release, gate=passing_gate, superseded_by__isnull=True)
    assert list(current.values_list("pk", flat=True)) == [decisions[-1].pk]
    # and each rests on its own evaluation of this gate and release, made at decision time
    evaluations = GateEvaluation.objects.filter(pk__in=[d.evaluation_id for d in decisions])
    assert evaluations.count() == len(managers)
    assert set(evaluations.values_list("gate_id", "release_id", "status")) == {
        (passing_gate.pk, release.pk, "passed")
    }
    # and the audit log has one event per decision, naming what it superseded, in the same order
    events = list(AuditEvent.objects.filter(release=release, action="decision.recorded").order_by("at", "id"))
    assert [(e.data["decision"], e.data["supersedes"]) for e in events] == [
        (d.pk, d.supersedes_id) for d in decisions
    ]
    assert [e.actor_id for e in events] == [d.decided_by_id for d in decisions]
    assert {e.actor_id for e in events} == {rm.pk for rm in managers}


def test_qa_leads_moving_the_same_defect_one_wins_the_others_get_409(project, make_member, api_client_for):
    require_postgres("real row locks")
    # given a new defect (version 1) that three QA leads loaded at the same time
    leads = [make_member(Role.QA, username=f"qa{i}") for i in range(3)]
    defect = defect_services.defect_create(project=project, title="Payment stuck", by=leads[0])
    moves = [
        {"to": "triaged", "expected_version": 1},
        {"to": "resolved", "resolution": "fixed", "expected_version": 1},
        {"to": "closed", "resolution": "wont_fix", "expected_version": 1},
    ]
    url = f"/api/v1/defects/{defect.pk}/transitions/"
    calls = [
        partial(api_client_for(lead).post, url, m, format="json")
        for lead, m in zip(leads, moves, strict=True)
    ]
    # when they all move it at once
    responses = _race(calls)
    codes = [getattr(r, "status_code", r) for r in responses]
    # then exactly one move wins and the others are told it changed under them (409 with a message)
    assert sorted(codes) == [201, 409, 409], codes
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == "conflict" and "changed by someone else" in r.json()["detail"]
    winner = moves[codes.index(201)]
    defect.refresh_from_db()
    assert (defect.status, defect.version) == (winner["to"], 2)
    history = list(defect.transitions.order_by("at", "id").values_list("from_status", "to_status"))
    assert history[1:] == [("new", winner["to"])]


def test_moves_without_a_version_serialise_and_the_history_chains(project, make_member, api_client_for):
    require_postgres("real row locks")
    # given a new defect and four QA leads each pushing one legal move of its life, none sending a version
    leads = [make_member(Role.QA, username=f"lead{i}") for i in range(4)]
    defect = defect_services.defect_create(project=project, title="Refund twice", by=leads[0])
    moves = [
        {"to": "triaged"},
        {"to": "in_progress"},
        {"to": "resolved", "resolution": "fixed"},
        {"to": "reopened"},
    ]
    url = f"/api/v1/defects/{defect.pk}/transitions/"
    calls = [
        partial(api_client_for(lead).post, url, m, format="json")
        for lead, m in zip(leads, moves, strict=True)
    ]
    # when they all send at once (each move is legal only from some states, so some may be refused)
    responses = _race(calls)
    codes = [getattr(r, "status_code", r) for r in responses]
    assert set(codes) <= {201, 400}, [getattr(r, "content", r) for r in responses]
    # then every accepted move is in the history exactly once, refused ones left no trace, and the history chains
    defect = Defect.objects.get(pk=defect.pk)
    history = list(defect.transitions.order_by("at", "id").values_list("from_status", "to_status"))
    assert len(history) == 1 + codes.count(201)
    assert history[0][1] == "new"
    for (_, previous_to), (next_from, _) in zip(history, history[1:], strict=False):
        assert next_from == previous_to, history
    assert defect.status == history[-1][1]
    assert defect.version == len(history)
