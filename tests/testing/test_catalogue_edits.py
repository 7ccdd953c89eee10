"""Editing requirements and test cases: the checks both edits share refuse bad input on its field, change nothing."""

import pytest

from qualitygov.errors import DomainError
from testing.services import catalogue
from tests import factories as f


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"criticality": "urgent"}, "criticality", "Criticality must be one of critical, high, medium, low."),
        ({"title": ""}, "title", None),
        ({"title": "x" * 301}, "title", None),
        ({"component": "c" * 101}, "component", None),
    ],
)
def test_requirement_edit_refused_on_the_field_and_nothing_changes(project, qa, data, field, message):
    # Given a requirement
    requirement = f.RequirementFactory(project=project, title="Pay by card", component="checkout")
    # When an edit breaks one of the shared checks
    with pytest.raises(DomainError) as refused:
        catalogue.requirement_update(requirement=requirement, by=qa, data=data)
    # Then it is refused on that field, and the row is as it was
    assert refused.value.field == field
    if message:
        assert refused.value.message == message
    requirement.refresh_from_db()
    assert (requirement.title, requirement.component) == ("Pay by card", "checkout")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "exploratory"}, "kind", "Kind must be one of automated, manual."),
        ({"title": "  "}, "title", None),
        ({"title": "x" * 501}, "title", None),
        ({"component": "c" * 101}, "component", None),
    ],
)
def test_testcase_edit_refused_on_the_field_and_nothing_changes(project, qa, data, field, message):
    # Given a test case
    case = f.TestCaseFactory(project=project, title="Card payment succeeds", component="checkout")
    # When an edit breaks one of the shared checks
    with pytest.raises(DomainError) as refused:
        catalogue.testcase_update(test_case=case, by=qa, data=data)
    # Then it is refused on that field, and the row is as it was
    assert refused.value.field == field
    if message:
        assert refused.value.message == message
    case.refresh_from_db()
    assert (case.title, case.component) == ("Card payment succeeds", "checkout")


@pytest.mark.django_db
def test_edits_within_the_limits_are_saved_trimmed(project, qa):
    requirement = f.RequirementFactory(project=project)
    case = f.TestCaseFactory(project=project)
    catalogue.requirement_update(
        requirement=requirement,
        by=qa,
        data={"title": " Refunds ", "criticality": "high", "component": "x" * 100},
    )
    catalogue.testcase_update(test_case=case, by=qa, data={"title": "t" * 500, "kind": "automated"})
    requirement.refresh_from_db()
    case.refresh_from_db()
    assert (requirement.title, requirement.criticality, len(requirement.component)) == (
        "Refunds",
        "high",
        100,
    )
    assert (len(case.title), case.kind) == (500, "automated")
