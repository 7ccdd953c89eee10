"""The defect services: workflow table, resolutions, history, timestamps, audit trail, bulk actions."""

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from defects import services
from defects.models import (
    ALLOWED_TRANSITIONS,
    Defect,
    DefectFieldChange,
    DefectStatus,
    DefectTransition,
    Resolution,
)
from qualitygov.errors import AccessDenied, ConflictError, DomainError
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

STATES = DefectStatus.values


def _force_state(defect: Defect, state: str) -> Defect:
    """Put a defect in a state directly (test set-up only), keeping the resolution rule."""
    resolution = Resolution.FIXED if state in ("resolved", "verified", "closed") else ""
    Defect.objects.filter(pk=defect.pk).update(status=state, resolution=resolution)
    defect.refresh_from_db()
    return defect


def test_create_assigns_next_key_and_creation_transition(make_defect, project, recomputes, release):
    # given a project with one defect
    first = make_defect()
    # when another is created, found in a release
    second = make_defect(title="Refund fails", found_in_release=release)
    # then it gets the next number, key, a '' -> new transition, and a recompute for its release and project
    assert (first.number, second.number) == (1, 2)
    assert second.key == "PAY-2"
    moves = list(second.transitions.values_list("from_status", "to_status"))
    assert moves == [("", "new")]
    assert recomputes[-1] == ((release.pk,), (project.pk,))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"severity": "urgent"}, "severity"),
        ({"priority": "p1"}, "priority"),
        ({"found_in_environment": "moon"}, "found_in_environment"),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(make_defect, kwargs, field):
    # when a defect is created with a bad value
    with pytest.raises(DomainError) as err:
        make_defect(**{"title": "ok", **kwargs})
    # then the refusal names the field and nothing was written
    assert err.value.field == field
    assert Defect.objects.count() == 0
    assert DefectTransition.objects.count() == 0


def test_create_refuses_release_of_other_project(make_defect):
    other = ReleaseFactory(project=ProjectFactory(key="OPS"))
    # Issue 12: another project's release answers like a missing one (no existence oracle).
    with pytest.raises(DomainError, match=f"No release {other.pk} in project"):
        make_defect(found_in_release=other)
    assert Defect.objects.count() == 0


def test_create_in_the_past_needs_import_right(make_defect, qa, manager):
    past = timezone.now() - dt.timedelta(days=10)
    # a QA may not backdate
    with pytest.raises(AccessDenied):
        make_defect(created_at=past, by=qa)
    # a manager may
    defect = make_defect(created_at=past, by=manager)
    assert defect.created_at == past
    assert defect.transitions.get().at == past


def test_create_in_the_future_is_refused(make_defect, manager):
    with pytest.raises(DomainError, match="future"):
        make_defect(created_at=timezone.now() + dt.timedelta(hours=1), by=manager)
    assert Defect.objects.count() == 0


@pytest.mark.parametrize(("start", "to"), list(itertools.product(STATES, STATES)))
def test_every_move_follows_the_contract_table(make_defect, qa, start, to):
    # given a defect in `start`
    defect = _force_state(make_defect(), start)
    before = DefectTransition.objects.count()
    allowed = to in ALLOWED_TRANSITIONS[start]
    resolution = Resolution.FIXED if to in ("resolved", "closed") else ""
    if not allowed:
        # then an illegal move is refused, naming the allowed next states, and leaves nothing behind
        with pytest.raises(DomainError) as err:
            services.defect_transition(defect=defect, to=to, by=qa, resolution=resolution)
        assert err.value.code == "illegal_transition"
        for state in ALLOWED_TRANSITIONS[start]:  # named by their labels (issue 16), values in details
            assert DefectStatus(state).label in err.value.message
        assert err.value.details["allowed"] == list(ALLOWED_TRANSITIONS[start])
        defect.refresh_from_db()
        assert defect.status == start
        assert DefectTransition.objects.count() == before
    else:
        move = services.defect_transition(defect=defect, to=to, by=qa, resolution=resolution)
        defect.refresh_from_db()
        assert (move.from_status, move.to_status) == (start, to)
        assert defect.status == to
        assert DefectTransition.objects.count() == before + 1


@pytest.mark.parametrize("to", ["resolved", "closed"])
def test_resolving_or_closing_needs_a_resolution(make_defect, qa, to):
    defect = make_defect()
    with pytest.raises(DomainError) as err:
        services.defect_transition(defect=defect, to=to, by=qa)
    assert err.value.field == "resolution"
    assert defect.transitions.count() == 1


def test_unknown_resolution_and_state_are_refused(make_defect, qa):
    defect = make_defect()
    with pytest.raises(DomainError, match="not a valid resolution"):
        services.defect_transition(defect=defect, to="resolved", by=qa, resolution="meh")
    with pytest.raises(DomainError, match="not a defect state"):
        services.defect_transition(defect=defect, to="done", by=qa)
    assert defect.transitions.count() == 1


def test_resolve_reopen_resolve_keeps_full_history_and_clears_resolution(make_defect, qa):
    defect = make_defect()
    original = make_defect(title="Original")
    services.defect_mark_duplicate(defect=defect, original=original, by=qa)
    defect.refresh_from_db()
    assert (defect.status, defect.resolution, defect.duplicate_of_id) == (
        "resolved",
        "duplicate",
        original.pk,
    )
    # when reopened, the resolution and duplicate link are cleared
    services.defect_transition(defect=defect, to="reopened", by=qa, comment="not the same after all")
    defect.refresh_from_db()
    assert (defect.status, defect.resolution, defect.duplicate_of_id) == ("reopened", "", None)
    services.defect_transition(defect=defect, to="resolved", by=qa, resolution="fixed")
    defect.refresh_from_db()
    # then every move is stored, in order, and status is the latest move's target
    moves = list(defect.transitions.order_by("at", "id").values_list("from_status", "to_status"))
    assert moves == [("", "new"), ("new", "resolved"), ("resolved", "reopened"), ("reopened", "resolved")]
    assert defect.status == moves[-1][1]
    assert defect.version == 4


def test_verify_and_close_keep_the_resolution(make_defect, qa):
    defect = make_defect()
    services.defect_transition(defect=defect, to="resolved", by=qa, resolution="wont_fix")
    services.defect_transition(defect=defect, to="verified", by=qa)
    services.defect_transition(defect=defect, to="closed", by=qa)
    defect.refresh_from_db()
    assert (defect.status, defect.resolution) == ("closed", "wont_fix")


def test_stale_expected_version_is_a_conflict_and_history_is_unchanged(make_defect, qa):
    # given two people who loaded version 1
    defect = make_defect()
    services.defect_transition(defect=defect, to="triaged", by=qa, expected_version=1)
    stale = Defect.objects.get(pk=defect.pk)
    stale.version = 1
    # when the second one moves with the old version
    with pytest.raises(ConflictError) as err:
        services.defect_transition(defect=stale, to="resolved", by=qa, resolution="fixed", expected_version=1)
    # then 409 and nothing was recorded
    assert err.value.status_code == 409
    defect.refresh_from_db()
    assert defect.status == "triaged"
    assert defect.transitions.count() == 2


def test_past_move_needs_import_right_and_respects_order(make_defect, qa, manager):
    defect = make_defect(created_at=timezone.now() - dt.timedelta(days=5), by=manager)
    three_days_ago = timezone.now() - dt.timedelta(days=3)
    with pytest.raises(AccessDenied):
        services.defect_transition(defect=defect, to="triaged", by=qa, at=three_days_ago)
    with pytest.raises(DomainError, match="before the defect was created"):
        services.defect_transition(
            defect=defect, to="triaged", by=manager, at=timezone.now() - dt.timedelta(days=6)
        )
    with pytest.raises(DomainError, match="future"):
        services.defect_transition(
            defect=defect, to="triaged", by=manager, at=timezone.now() + dt.timedelta(days=1)
        )
    services.defect_transition(defect=defect, to="triaged", by=manager, at=three_days_ago)
    with pytest.raises(DomainError, match="before the previous move"):
        services.defect_transition(
            defect=defect, to="in_progress", by=manager, at=three_days_ago - dt.timedelta(hours=1)
        )
    assert defect.transitions.count() == 2


def test_naive_timestamp_is_refused(make_defect, manager):
    defect = make_defect()
    with pytest.raises(DomainError, match="time zone"):
        services.defect_transition(defect=defect, to="triaged", by=manager, at=dt.datetime(2024, 1, 1))


def test_duplicate_links_refuse_self_cycles_and_other_projects(make_defect, qa):
    a, b = make_defect(title="A"), make_defect(title="B")
    with pytest.raises(DomainError, match="itself"):
        services.defect_mark_duplicate(defect=a, original=a, by=qa)
    services.defect_mark_duplicate(defect=a, original=b, by=qa)
    with pytest.raises(DomainError, match="already"):
        services.defect_mark_duplicate(defect=a, original=b, by=qa)
    # b cannot become a duplicate of a: a already points at b
    with pytest.raises(DomainError, match="duplicate of"):
        services.defect_mark_duplicate(defect=b, original=a, by=qa)
    other = services.defect_create(project=ProjectFactory(key="OPS"), title="Elsewhere", by=None)
    # Issue 12: another project's defect answers like a missing one (no existence oracle).
    with pytest.raises(DomainError, match="No such defect"):
        services.defect_mark_duplicate(defect=b, original=other, by=qa)
    b.refresh_from_db()
    assert (b.status, b.duplicate_of_id) == ("new", None)


def test_update_writes_one_audit_row_per_changed_field(make_defect, qa, make_member, recomputes):
    defect = make_defect()
    dev = make_member("qa", username="dev")
    services.defect_update(
        defect=defect, by=qa, data={"severity": "blocker", "assignee": dev, "priority": "medium"}
    )
    changes = {c.field: (c.old_value, c.new_value, c.by_id) for c in DefectFieldChange.objects.all()}
    # priority was already medium: no row
    assert changes == {"severity": ("major", "blocker", qa.pk), "assignee": ("", "dev", qa.pk)}
    defect.refresh_from_db()
    assert defect.version == 2
    assert recomputes


def test_update_refuses_unknown_fields_non_members_and_stale_versions(make_defect, qa):
    from tests.factories import UserFactory

    defect = make_defect()
    with pytest.raises(DomainError, match="cannot be edited"):
        services.defect_update(defect=defect, by=qa, data={"status": "closed"})
    with pytest.raises(DomainError, match="not a member"):
        services.defect_update(defect=defect, by=qa, data={"assignee": UserFactory(username="stranger")})
    with pytest.raises(ConflictError):
        services.defect_update(defect=defect, by=qa, data={"severity": "minor"}, expected_version=7)
    assert DefectFieldChange.objects.count() == 0


def test_comment_must_not_be_empty(make_defect, qa):
    defect = make_defect()
    with pytest.raises(DomainError):
        services.defect_comment_add(defect=defect, by=qa, body="   ")
    comment = services.defect_comment_add(defect=defect, by=qa, body="Seen on staging too.")
    assert comment.defect_id == defect.pk


def test_bulk_move_reports_refused_rows_and_keeps_the_others(make_defect, qa):
    # given three new defects, one of them already resolved
    a, b, c = make_defect(title="A"), make_defect(title="B"), make_defect(title="C")
    services.defect_transition(defect=c, to="resolved", by=qa, resolution="fixed")
    # when all three are moved to in_progress (only allowed from triaged/reopened)
    services.defect_bulk_action(defect_ids=[a.pk, b.pk], action="move", by=qa, params={"to": "triaged"})
    report = services.defect_bulk_action(
        defect_ids=[a.pk, b.pk, c.pk, 999999], action="move", by=qa, params={"to": "in_progress"}
    )
    # then a and b moved; c and the missing id are refused with reasons, c untouched
    assert sorted(report.changed) == [a.key, b.key]
    reasons = {r["key"] or r["id"]: r["reason"] for r in report.refused}
    assert "Allowed next states: Verified, Reopened" in reasons[c.key]
    assert reasons["999999"] == "No such defect."
    c.refresh_from_db()
    assert c.status == "resolved"


def test_bulk_refuses_rows_of_projects_where_the_user_may_not_edit(make_defect, qa):
    other_project = ProjectFactory(key="OPS")
    foreign = services.defect_create(project=other_project, title="Theirs", by=None)
    mine = make_defect()
    report = services.defect_bulk_action(
        defect_ids=[mine.pk, foreign.pk], action="set_severity", by=qa, params={"severity": "critical"}
    )
    assert report.changed == [mine.key]
    assert report.refused[0]["key"] == foreign.key
    foreign.refresh_from_db()
    assert foreign.severity == "major"


@pytest.mark.parametrize(
    ("action", "params", "field"),
    [
        ("explode", {}, "action"),
        ("set_severity", {"severity": "huge"}, "severity"),
        ("set_priority", {}, "priority"),
        ("move", {"to": "nowhere"}, "to"),
        ("mark_duplicate", {}, "original"),
        ("assign", {}, "assignee"),
    ],
)
def test_bulk_refuses_bad_parameters_before_touching_rows(make_defect, qa, action, params, field):
    defect = make_defect()
    with pytest.raises(DomainError) as err:
        services.defect_bulk_action(defect_ids=[defect.pk], action=action, by=qa, params=params)
    assert err.value.field == field
    defect.refresh_from_db()
    assert defect.version == 1


def test_bulk_of_many_rows_schedules_one_recompute(project, qa, recomputes):
    releases = [ReleaseFactory(project=project) for _ in range(3)]
    defects = [
        services.defect_create(project=project, title=f"D{i}", by=qa, found_in_release=releases[i % 3])
        for i in range(60)
    ]
    recomputes.clear()
    report = services.defect_bulk_action(
        defect_ids=[d.pk for d in defects],
        action="move",
        by=qa,
        params={"to": "resolved", "resolution": "fixed"},
    )
    assert len(report.changed) == 60
    assert recomputes == [(tuple(sorted(r.pk for r in releases)), (project.pk,))]


def test_bulk_assign_and_add_to_release(make_defect, qa, release, make_member):
    dev = make_member("qa", username="dev")
    a, b = make_defect(title="A"), make_defect(title="B", assignee=dev)
    report = services.defect_bulk_action(
        defect_ids=[a.pk, b.pk], action="assign", by=qa, params={"assignee": dev}
    )
    assert (report.changed, report.unchanged) == ([a.key], [b.key])
    report = services.defect_bulk_action(
        defect_ids=[a.pk, b.pk], action="add_to_release", by=qa, params={"release": release}
    )
    assert sorted(report.changed) == [a.key, b.key]
    assert set(Defect.objects.values_list("found_in_release_id", flat=True)) == {release.pk}


def test_delete_is_for_admins_only(make_defect, qa, admin):
    defect = make_defect()
    with pytest.raises(AccessDenied):
        services.defect_delete(defect=defect, by=qa)
    assert Defect.objects.filter(pk=defect.pk).exists()
    services.defect_delete(defect=defect, by=admin)
    assert not Defect.objects.filter(pk=defect.pk).exists()


def test_defect_services_refuse_a_member_without_edit_defects_and_write_nothing(make_defect, project, viewer):
    # Given a defect and a duplicate candidate in the project
    defect = make_defect(title="Card payment times out")
    original = make_defect(title="Checkout times out")
    before = (Defect.objects.count(), DefectTransition.objects.count(), DefectFieldChange.objects.count())
    # When a viewer (no edit_defects) calls each defect service directly, as a page or the API would
    refused = [
        lambda: services.defect_create(project=project, title="Mine", by=viewer),
        lambda: services.defect_update(defect=defect, by=viewer, data={"severity": "minor"}),
        lambda: services.defect_transition(defect=defect, to=DefectStatus.TRIAGED, by=viewer),
        lambda: services.defect_mark_duplicate(defect=defect, original=original, by=viewer),
        lambda: services.defect_comment_add(defect=defect, by=viewer, body="Seen again"),
    ]
    for call in refused:
        with pytest.raises(AccessDenied):
            call()
    # Then nothing was written
    after = (Defect.objects.count(), DefectTransition.objects.count(), DefectFieldChange.objects.count())
    assert after == before
    assert not defect.comments.exists()
    defect.refresh_from_db()
    assert (defect.status, defect.severity, defect.version) == (DefectStatus.NEW, "major", 1)


def test_the_system_acts_with_by_none(project, recomputes):
    # A system caller (the demo seed, a regression reopening its defect) writes by=None out and is not checked
    defect = services.defect_create(project=project, title="Filed by the system", by=None)
    move = services.defect_transition(defect=defect, to=DefectStatus.TRIAGED, by=None)
    assert (move.by, defect.reporter) == (None, None)
