"""The permission helper, for every role and action, plus superusers, outsiders and anonymous users."""

import pytest
from django.contrib.auth.models import AnonymousUser

from qualitygov.errors import AccessDenied
from releases.access import ROLE_ACTIONS, Action, can, has_role, require
from releases.models import Role

from ..factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

EXPECTED = {
    # action: roles allowed, written out independently of access.py so a change there must be deliberate
    Action.VIEW: {"viewer", "qa", "manager", "release_manager", "admin"},
    Action.EDIT_DEFECTS: {"qa", "manager", "release_manager", "admin"},
    Action.IMPORT: {"manager", "admin"},
    Action.EDIT_TESTS: {"qa", "manager", "release_manager", "admin"},
    Action.EXECUTE_TESTS: {"qa", "manager", "release_manager", "admin"},
    Action.UPLOAD_RESULTS: {"qa", "manager", "release_manager", "admin"},
    Action.MANAGE_RELEASES: {"manager", "release_manager", "admin"},
    Action.MANAGE_INCIDENTS: {"manager", "release_manager", "admin"},
    Action.EVALUATE_GATES: {"qa", "manager", "release_manager", "admin"},
    Action.MANAGE_GATES: {"admin"},
    Action.DECIDE: {"release_manager"},
    Action.MANAGE_MEMBERS: {"admin"},
}


def test_expected_table_covers_every_action():
    assert set(EXPECTED) == set(Action)
    assert {a: set(r) for a, r in ROLE_ACTIONS.items()} == EXPECTED


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("action", list(Action))
def test_role_may_do_exactly_its_actions(make_member, role, action):
    # given a member with the role
    user = make_member(role)
    project = user.memberships.get().project
    allowed = role in EXPECTED[action]
    # when / then
    assert can(user, project, action) is allowed
    if allowed:
        require(user, project, action)
    else:
        with pytest.raises(AccessDenied) as exc:
            require(user, project, action)
        assert role in exc.value.message


@pytest.mark.parametrize("action", list(Action))
def test_role_in_another_project_gives_nothing(action, admin):
    # given an admin of PAY
    user = admin
    other = ProjectFactory(key="OPS")
    # then they may do nothing in OPS
    assert can(user, other, action) is False


@pytest.mark.parametrize("action", list(Action))
def test_superuser_may_do_everything_but_decide(project, action):
    user = UserFactory(username="root", is_superuser=True)
    assert can(user, project, action) is (action != Action.DECIDE)


@pytest.mark.parametrize("action", list(Action))
def test_anonymous_may_do_nothing(project, action):
    assert can(AnonymousUser(), project, action) is False
    assert can(None, project, action) is False


def test_has_role_is_exact(project, admin):
    user = admin
    assert has_role(user, project, Role.ADMIN)
    assert not has_role(user, project, Role.RELEASE_MANAGER)
