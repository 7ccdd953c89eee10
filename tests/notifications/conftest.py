"""Fixtures of the notification tests: two members of project PAY with notifications of their own."""

import pytest

from notifications import services
from notifications.kinds import Kind
from tests.factories import MembershipFactory, UserFactory


def tell(user, project, n=1, **extra):
    for i in range(n):
        services.publish(
            kind=extra.get("kind", Kind.DEFECT_ASSIGNED),
            project=project,
            recipients=[user],
            title=f"PAY-{i + 1} assigned to you: checkout <crashes>",
            body="Severity: major",
            url=f"/defects/PAY-{i + 1}/",
        )


@pytest.fixture
def two_users(project):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    for user in (alice, bob):
        MembershipFactory(project=project, user=user, role="qa")
    tell(alice, project, 3)
    tell(bob, project, 2)
    return alice, bob
