"""factory_boy factories for every app. Defects are created with their creation transition, like the service does."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from defects.models import Defect, DefectTransition
from gates.models import ChecklistItem, GateCondition, QualityGate
from incidents.models import Incident
from releases.models import Membership, Project, Release, Role
from testing.models import Requirement, TestCase, TestResult, TestRun
from testing.services.tracing import links_change, scope_change


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"P{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Project {o.key}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.VIEWER


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release

    project = factory.SubFactory(ProjectFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    planned_release_date = factory.LazyFunction(lambda: (timezone.now() + dt.timedelta(days=14)).date())


class RequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Requirement

    project = factory.SubFactory(ProjectFactory)
    key = factory.Sequence(lambda n: f"REQ-{n + 1}")
    title = factory.Sequence(lambda n: f"Requirement {n + 1}")


# When a test's requirement scope and links are set unless it says otherwise: before anything the test looks at,
# as if they had always been so (tests of exact replay pass their own instants).
SCOPE_SINCE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def in_scope(requirement, *releases, at=None) -> None:
    """Put the requirement in the releases' scope, with its history, as the services do."""
    scope_change(add=[(requirement.pk, r.pk) for r in releases], at=at or SCOPE_SINCE)


def link(test_case, *requirements, at=None) -> None:
    """Link the test case to the requirements, with the link history."""
    links_change(add=[(test_case.pk, r.pk) for r in requirements], at=at or SCOPE_SINCE)


def cover(requirement, *test_cases, at=None) -> None:
    """Link the test cases to the requirement, with the link history."""
    links_change(add=[(c.pk, requirement.pk) for c in test_cases], at=at or SCOPE_SINCE)


class TestCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TestCase

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Test case {n + 1}")


class TestRunFactory(factory.django.DjangoModelFactory):
    __test__ = False  # a factory, not a pytest test class

    class Meta:
        model = TestRun

    release = factory.SubFactory(ReleaseFactory)
    name = factory.Sequence(lambda n: f"run-{n}")
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyAttribute(lambda o: o.started_at)


class TestResultFactory(factory.django.DjangoModelFactory):
    __test__ = False  # a factory, not a pytest test class

    class Meta:
        model = TestResult

    run = factory.SubFactory(TestRunFactory)
    release = factory.LazyAttribute(lambda o: o.run.release)
    test_case = factory.SubFactory(TestCaseFactory, project=factory.SelfAttribute("..run.release.project"))
    status = "passed"
    finished_at = factory.LazyAttribute(lambda o: o.run.finished_at or o.run.started_at)


class DefectFactory(factory.django.DjangoModelFactory):
    """A new defect with its creation transition ('' -> new at created_at)."""

    class Meta:
        model = Defect
        skip_postgeneration_save = True

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    key = factory.LazyAttribute(lambda o: f"{o.project.key}-{o.number}")
    title = factory.Sequence(lambda n: f"Defect {n + 1}")
    created_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def creation_transition(obj, create, extracted, **kwargs):
        if create:
            DefectTransition.objects.create(
                defect=obj, from_status="", to_status=obj.status, at=obj.created_at, resolution=obj.resolution
            )


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Incident {n + 1}")
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=3))
    detected_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(minutes=10))


class QualityGateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QualityGate

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Gate {n + 1}")


class GateConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GateCondition

    gate = factory.SubFactory(QualityGateFactory)
    metric = "blocking_open_defects"
    operator = "lte"
    error_threshold = 0


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    gate = factory.SubFactory(QualityGateFactory)
    text = factory.Sequence(lambda n: f"Checklist item {n + 1}")
    role = Role.RELEASE_MANAGER


# --- testing helpers (appended by the testing area) ---------------------------------------------------


def junit_report(
    n: int, *, fail_every: int = 0, skip_every: int = 0, suites: int = 1, prefix: str = "t"
) -> bytes:
    """A synthetic JUnit report with n testcases spread over `suites` suites (for tests and the benchmark)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>']
    per_suite = max(1, -(-n // suites))
    for s in range(suites):
        parts.append(f'<testsuite name="suite{s}">')
        for i in range(s * per_suite, min(n, (s + 1) * per_suite)):
            cls = f"pkg.mod{s}.Test{prefix}"
            if fail_every and i % fail_every == 0:
                parts.append(
                    f'<testcase classname="{cls}" name="test_{i}" time="0.01">'
                    f'<failure message="assert {i} == 0">Traceback line {i}</failure></testcase>'
                )
            elif skip_every and i % skip_every == 0:
                parts.append(f'<testcase classname="{cls}" name="test_{i}"><skipped/></testcase>')
            else:
                parts.append(f'<testcase classname="{cls}" name="test_{i}" time="0.012"/>')
        parts.append("</testsuite>")
    parts.append("</testsuites>\n")
    return "".join(parts).encode()
