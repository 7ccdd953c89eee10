"""Gate selectors other helpers call: live status per release and expired waivers."""

import datetime as dt

import pytest
from django.utils import timezone

from gates import services
from gates.models import GateEvaluation, QualityGate
from gates.selectors import expired_waivers, gate_status_by_release
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db


def test_gate_status_is_the_worst_latest_evaluation_of_the_current_gates(
    project, gate, release, metric_values, django_assert_max_num_queries
):
    # issue 13: a release is judged by its current gates (those guarding its next move), not every active gate
    # given a ready release; two gates guard ready -> released; the first failed then passed (latest counts), the
    # second warned; an inactive gate failed; a gate of another move (testing -> ready) failed
    release.status = "ready"
    release.save(update_fields=["status"])
    other = QualityGate.objects.create(project=project, name="Warn gate", order=2)
    other.conditions.create(metric="test_pass_rate", operator="gte", error_threshold=90, warn_threshold=99)
    off = QualityGate.objects.create(project=project, name="Off gate", is_active=False)
    off.conditions.create(metric="test_pass_rate", operator="gte", error_threshold=100)
    earlier = QualityGate.objects.create(
        project=project, name="Test exit", from_status="testing", to_status="ready"
    )
    earlier.conditions.create(metric="test_pass_rate", operator="gte", error_threshold=100)
    gate.checklist_items.all().delete()
    metric_values({"blocking_open_defects": 3, "test_pass_rate": 97.0})
    services.gate_evaluate(gate=gate, release=release, by=None)
    services.gate_evaluate(gate=off, release=release, by=None)
    services.gate_evaluate(gate=earlier, release=release, by=None)
    metric_values({"blocking_open_defects": 0, "test_pass_rate": 99.0})
    latest = services.gate_evaluate(gate=gate, release=release, by=None)
    metric_values({"test_pass_rate": 95.0})
    services.gate_evaluate(gate=other, release=release, by=None)
    untouched = ReleaseFactory(project=project, version="0.1", status="ready")
    done = ReleaseFactory(project=project, version="0.0", status="cancelled")
    # when asked for the releases / then a fixed number of queries, the worst current status, None where nothing ran
    with django_assert_max_num_queries(4):
        status = gate_status_by_release(releases=[release, untouched, done])
    assert status[release.pk]["status"] == "warned" and status[release.pk]["gate"] == "Warn gate"
    assert {g["name"]: g["status"] for g in status[release.pk]["gates"]} == {
        "RC gate": "passed",
        "Warn gate": "warned",
    }
    assert status[release.pk]["move"] == "Ready → Released" and not status[release.pk]["may_move"]
    assert {g["decision_state"] for g in status[release.pk]["gates"]} == {"none"}
    assert latest.pk in {g["evaluation_id"] for g in status[release.pk]["gates"]}
    assert status[untouched.pk]["status"] is None and len(status[untouched.pk]["gates"]) == 2
    assert status[done.pk]["gates"] == [] and status[done.pk]["move"] == ""
    assert GateEvaluation.objects.count() == 5


def test_gate_status_is_marked_stale_while_newer_evidence_exists(project, gate, release, metric_values):
    from metrics import services as metric_services

    release.status = "ready"
    release.save(update_fields=["status"])
    metric_values({"blocking_open_defects": 0})
    services.gate_evaluate(gate=gate, release=release, by=None)
    assert gate_status_by_release(releases=[release])[release.pk]["stale"] is False
    metric_services.schedule_recompute(release_ids=[release.pk])
    assert gate_status_by_release(releases=[release])[release.pk]["stale"] is True
    services.gate_evaluate(gate=gate, release=release, by=None)
    assert gate_status_by_release(releases=[release])[release.pk]["stale"] is False


@pytest.mark.parametrize("releases", [2, 20])
def test_gate_status_query_count_does_not_grow_with_releases(
    project, gate, metric_values, releases, make_member, django_assert_num_queries
):
    from releases.models import Role

    metric_values({"blocking_open_defects": 0, "test_pass_rate": 99.0})
    rm = make_member(Role.RELEASE_MANAGER)
    rows = []
    for i in range(releases):
        r = ReleaseFactory(project=project, version=f"9.{i}", status="ready")
        services.signoff_create(item=gate.checklist_items.get(), release=r, by=rm)
        services.decision_record(release=r, gate=gate, decision="go", rationale="green", by=rm)
        rows.append(r)
    # current gates, latest evaluations (watermarks joined), decisions with suspensions, their waivers
    with django_assert_num_queries(4):
        found = gate_status_by_release(releases=rows)
    assert len(found) == releases and {s["decision_state"] for s in found.values()} == {"in_force"}


def test_expired_waivers_by_project_and_release(project, gate, release, metric_values, rm):
    from gates.models import Waiver

    metric_values({"blocking_open_defects": 0, "test_pass_rate": 90.0})
    tomorrow = (timezone.now() + dt.timedelta(days=1)).date()
    d = services.decision_record(
        release=release,
        gate=gate,
        decision="go_with_waivers",
        rationale="ok",
        by=rm,
        waivers=[
            {
                "condition": gate.conditions.get(metric="test_pass_rate").pk,
                "justification": "j",
                "owner": rm,
                "expires": tomorrow,
            },
            {
                "checklist_item": gate.checklist_items.get().pk,
                "justification": "j",
                "owner": rm,
                "expires": tomorrow,
            },
        ],
    )
    assert not expired_waivers(project=project).exists()
    # one waiver expires yesterday, the other today (still valid through today)
    w1, w2 = Waiver.objects.filter(decision=d).order_by("id")
    today = timezone.now().date()
    Waiver.objects.filter(pk=w1.pk).update(expires=today - dt.timedelta(days=1))
    Waiver.objects.filter(pk=w2.pk).update(expires=today)
    assert list(expired_waivers(project=project)) == [w1]
    assert list(expired_waivers(release=release)) == [w1]
    assert not expired_waivers(release=ReleaseFactory(project=project, version="8.0")).exists()
