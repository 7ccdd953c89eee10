"""Defect notifications (issue 16 item 8): the assignee on assignment, the reporter on resolution; never the person
who did it; imports tell nobody; a bulk change tells each person once."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from defects import services
from notifications.models import Notification, NotificationEvent
from releases.models import Role

pytestmark = pytest.mark.django_db


def _titles(user):
    return list(Notification.objects.filter(user=user).order_by("id").values_list("title", flat=True))


def test_assignment_tells_the_assignee(make_defect, qa, manager, django_capture_on_commit_callbacks):
    defect = make_defect(title="Refund fails")
    with django_capture_on_commit_callbacks(execute=True):
        services.defect_update(defect=defect, by=qa, data={"assignee": manager})
    assert _titles(manager) == [f"{defect.key} assigned to you: Refund fails"]
    event = NotificationEvent.objects.get()
    assert event.url == f"/defects/{defect.key}/" and event.kind == "defect_assigned"
    assert [m.to for m in mail.outbox] == [[manager.email]]
    # editing something else tells nobody more; re-assigning the same person neither
    services.defect_update(defect=defect, by=qa, data={"severity": "critical", "assignee": manager})
    assert Notification.objects.count() == 1


def test_creating_with_an_assignee_tells_them_but_not_self_assignment(make_defect, qa, manager):
    make_defect(title="Checkout slow", assignee=manager)
    make_defect(title="My own", assignee=qa)  # QA files it for themselves
    services.defect_update(defect=make_defect(title="Taken"), by=manager, data={"assignee": manager})
    assert [n.split(": ", 1)[1] for n in _titles(manager)] == ["Checkout slow"]
    assert not Notification.objects.filter(user=qa).exists()


def test_resolution_tells_the_reporter_to_verify(
    make_defect, qa, manager, django_capture_on_commit_callbacks
):
    defect = make_defect(title="Totals wrong")  # reported by QA
    services.defect_transition(defect=defect, to="triaged", by=manager)
    with django_capture_on_commit_callbacks(execute=True):
        services.defect_transition(defect=defect, to="resolved", by=manager, resolution="fixed")
    assert _titles(qa) == [f"{defect.key} resolved, please verify: Totals wrong"]
    assert "Fixed" in Notification.objects.get(user=qa).body
    assert [m.to for m in mail.outbox] == [[qa.email]]
    # the reporter resolving their own defect is not told
    own = make_defect(title="Own fix")
    services.defect_transition(defect=own, to="resolved", by=qa, resolution="fixed")
    assert Notification.objects.filter(user=qa).count() == 1


def test_backdated_import_moves_tell_nobody(make_defect, qa, manager, make_member):
    importer = make_member(Role.MANAGER, username="importer")
    past = timezone.now() - dt.timedelta(days=3)
    defect = services.defect_create(
        project=qa.memberships.first().project, title="Old", by=importer, assignee=manager, created_at=past
    )
    services.defect_transition(defect=defect, to="resolved", by=manager, resolution="fixed", at=past)
    assert not Notification.objects.exists()


def test_bulk_assign_tells_each_assignee_once(make_defect, qa, manager, django_capture_on_commit_callbacks):
    defects = [make_defect(title=f"Bug {i}") for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        report = services.defect_bulk_action(
            defect_ids=[d.pk for d in defects], action="assign", by=qa, params={"assignee": manager}
        )
    assert len(report.changed) == 3
    [notification] = Notification.objects.filter(user=manager)
    assert notification.title == "3 defects of PAY assigned to you"
    assert all(d.key in notification.body for d in defects)
    assert notification.url == f"/defects/?project=PAY&assignee={manager.username}"
    assert len(mail.outbox) == 1


def test_bulk_rows_rolled_back_by_a_later_step_tell_nobody(make_defect, qa, manager):
    # given one defect that can move to triaged and one already resolved (cannot)
    movable = make_defect(title="Movable")
    stuck = make_defect(title="Stuck")
    services.defect_transition(defect=stuck, to="resolved", by=manager, resolution="fixed")
    Notification.objects.all().delete()
    # when both are assigned and moved in one Apply
    report = services.defect_bulk_apply(
        defect_ids=[movable.pk, stuck.pk],
        steps=[("assign", {"assignee": manager}), ("move", {"to": "triaged"})],
        by=qa,
    )
    # then only the row that kept its changes is announced
    assert report.changed == [movable.key] and [r["key"] for r in report.refused] == [stuck.key]
    [notification] = Notification.objects.filter(user=manager)
    assert notification.title == f"{movable.key} assigned to you: Movable"


def test_bulk_resolve_tells_each_reporter_once(make_defect, qa, manager, make_member):
    other = make_member(Role.QA, username="qa_two")
    mine = [make_defect(title="A"), make_defect(title="B")]
    theirs = make_defect(title="C", by=other)
    report = services.defect_bulk_action(
        defect_ids=[d.pk for d in [*mine, theirs]],
        action="move",
        by=manager,
        params={"to": "resolved", "resolution": "fixed"},
    )
    assert len(report.changed) == 3
    assert _titles(qa) == ["2 defects you reported in PAY resolved, please verify"]
    assert _titles(other) == [f"{theirs.key} resolved, please verify: C"]


def test_switched_off_kind_is_not_delivered(make_defect, qa, manager, django_capture_on_commit_callbacks):
    from notifications.services import preferences_save

    preferences_save(user=manager, choices={"defect_assigned": {"in_app": False, "email": False}})
    with django_capture_on_commit_callbacks(execute=True):
        make_defect(title="Quiet", assignee=manager)
    assert not Notification.objects.exists() and mail.outbox == []
