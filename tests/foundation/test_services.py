"""Project, release and member services: rules, refusals that leave nothing behind."""

import datetime as dt

import pytest
from django.utils import timezone

from gates.models import QualityGate
from qualitygov.errors import AccessDenied, ConflictError, DomainError
from qualitygov.services import MAX_ID, parse_id
from releases import services
from releases.models import Membership, Project, Release, Role

from ..factories import ReleaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_project_create_makes_creator_admin_and_adds_default_gates():
    # given a user
    user = UserFactory(username="founder")
    # when they create a project (lower-case key is normalised)
    project = services.project_create(key="pay", name="Payments", by=user)
    # then
    assert project.key == "PAY"
    assert Membership.objects.get(project=project, user=user).role == Role.ADMIN
    assert QualityGate.objects.filter(project=project).count() >= 3


@pytest.mark.parametrize("key", ["", "P", "1AB", "A-B", "ABCDEFGHIJKLMNOPQ"])
def test_project_create_refuses_bad_keys_and_writes_nothing(key):
    with pytest.raises(DomainError) as exc:
        services.project_create(key=key, name="X", by=None)
    assert exc.value.field == "key"
    assert not Project.objects.exists()


def test_project_create_refuses_a_taken_key(project):
    with pytest.raises(ConflictError):
        services.project_create(key="PAY", name="Again", by=None)
    assert Project.objects.count() == 1


def test_release_create_by_viewer_is_refused_and_writes_nothing(project, viewer):
    with pytest.raises(AccessDenied):
        services.release_create(project=project, version="9.9.9", by=viewer)
    assert not Release.objects.exists()


def test_marking_released_without_date_sets_now(release, manager):
    before = timezone.now()
    services.release_move(release=release, to="ready", by=manager)
    services.release_update(release=release, data={"status": "released"}, by=manager)
    release.refresh_from_db()
    assert release.status == "released"
    assert release.actual_release_date >= before


def test_release_version_is_unique_in_project(release, manager):
    with pytest.raises(DomainError) as exc:
        services.release_create(project=release.project, version="2.4.0", by=manager)
    assert exc.value.field == "version"
    assert Release.objects.count() == 1


def test_hotfix_must_repair_a_release_of_the_same_project(release, manager):
    foreign = ReleaseFactory(version="1.0.0")
    with pytest.raises(DomainError) as exc:
        services.release_create(
            project=release.project, version="2.4.1", change_class="hotfix", hotfix_for=foreign, by=manager
        )
    assert exc.value.field == "hotfix_for"
    hotfix = services.release_create(
        project=release.project, version="2.4.1", change_class="hotfix", hotfix_for=release, by=manager
    )
    assert hotfix.hotfix_for == release


def test_actual_release_date_cannot_be_in_the_future(release, manager):
    with pytest.raises(DomainError) as exc:
        services.release_update(
            release=release, data={"actual_release_date": timezone.now() + dt.timedelta(days=2)}, by=manager
        )
    assert exc.value.field == "actual_release_date"
    release.refresh_from_db()
    assert release.actual_release_date is None


def test_last_admin_cannot_be_demoted_or_removed(project, admin):
    membership = Membership.objects.get(user=admin)
    with pytest.raises(DomainError):
        services.member_update(membership=membership, role=Role.VIEWER, by=admin)
    with pytest.raises(DomainError):
        services.member_remove(membership=membership, by=admin)
    assert Membership.objects.get(user=admin).role == Role.ADMIN


def test_member_add_update_remove(project, admin):
    UserFactory(username="newbie")
    membership = services.member_add(project=project, username="newbie", role=Role.QA, by=admin)
    assert membership.role == Role.QA
    with pytest.raises(ConflictError):
        services.member_add(project=project, username="newbie", role=Role.QA, by=admin)
    services.member_update(membership=membership, role=Role.MANAGER, by=admin)
    assert Membership.objects.get(pk=membership.pk).role == Role.MANAGER
    services.member_remove(membership=membership, by=admin)
    assert not Membership.objects.filter(user__username="newbie").exists()


def test_member_add_by_non_admin_is_refused(project, manager):
    UserFactory(username="newbie")
    with pytest.raises(AccessDenied):
        services.member_add(project=project, username="newbie", role=Role.QA, by=manager)
    assert not Membership.objects.filter(user__username="newbie").exists()


def test_release_with_evaluations_cannot_be_deleted(release, manager):
    from gates.models import GateEvaluation

    from ..factories import QualityGateFactory

    gate = QualityGateFactory(project=release.project)
    GateEvaluation.objects.create(gate=gate, release=release, status="passed", definition={})
    with pytest.raises(ConflictError):
        services.release_delete(release=release, by=manager)
    assert Release.objects.filter(pk=release.pk).exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (12, 12),
        (" 7 ", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("99999999999999999999", None),
        ("0", None),
        ("-3", None),
        ("1.5", None),
        ("abc", None),
        ("", None),
        (None, None),
        ([], None),
    ],
)
def test_parse_id_accepts_only_numbers_that_can_name_a_row(value, expected):
    assert parse_id(value) == expected
