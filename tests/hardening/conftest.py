"""Fixtures for the hardening tests (shared by several test modules: only add fixtures here, never remove).

`build_world(key)` seeds one small but complete project through the app's own services: a member of every
role, releases, requirements, test cases, an automated and a manual run with results, defects with moves
and comments, gate evaluations, a sign-off and a decision, an incident with post-mortem and action item,
an alert rule and a webhook, a notification (the assigned defect). `world_a` / `world_b` are two such projects with disjoint members.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from defects import services as defect_services
from gates import services as gate_services
from gates.models import ChecklistItem, QualityGate
from incidents import services as incident_services
from metrics.models import AlertRule, Webhook
from notifications.models import Notification
from releases import services as release_services
from releases.models import Membership, Role
from testing import services as testing_services
from testing.models import JUnitIngestion, TestResult

from ..factories import TestResultFactory, TestRunFactory, UserFactory

ROLES = [Role.VIEWER, Role.QA, Role.MANAGER, Role.RELEASE_MANAGER, Role.ADMIN]


@dataclass
class World:
    """One seeded project and handles to its objects (ids are what URLs need)."""

    project: object
    users: dict[str, object]
    tokens: dict[str, str]
    releases: list = field(default_factory=list)
    defects: list = field(default_factory=list)
    requirements: list = field(default_factory=list)
    test_cases: list = field(default_factory=list)
    runs: list = field(default_factory=list)
    results: list = field(default_factory=list)
    gates: list = field(default_factory=list)
    checklist_items: list = field(default_factory=list)
    evaluations: list = field(default_factory=list)
    decisions: list = field(default_factory=list)
    signoffs: list = field(default_factory=list)
    incidents: list = field(default_factory=list)
    action_items: list = field(default_factory=list)
    alert_rules: list = field(default_factory=list)
    webhooks: list = field(default_factory=list)
    junit_ingestions: list = field(default_factory=list)
    notifications: list = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.project.key


def build_world(key: str) -> World:
    """Seed project `key` (see the module docstring). Takes well under a second on PostgreSQL."""
    suffix = key.lower()
    admin = UserFactory(username=f"admin_{suffix}")
    project = release_services.project_create(key=key, name=f"Project {key}", by=admin)
    users = {Role.ADMIN: admin}
    for role in ROLES:
        if role == Role.ADMIN:
            continue
        user = UserFactory(username=f"{role}_{suffix}")
        Membership.objects.create(project=project, user=user, role=role)
        users[role] = user
    tokens = {role: Token.objects.get_or_create(user=user)[0].key for role, user in users.items()}
    world = World(project=project, users=users, tokens=tokens)
    manager, qa, rm = users[Role.MANAGER], users[Role.QA], users[Role.RELEASE_MANAGER]

    old = release_services.release_create(
        project=project,
        version="1.0.0",
        status="released",
        by=manager,
        actual_release_date=timezone.now() - dt.timedelta(days=20),
    )
    current = release_services.release_create(project=project, version="1.1.0", status="testing", by=manager)
    world.releases = [current, old]

    req = testing_services.requirement_create(
        project=project, key="REQ-1", title="Pay by card", by=qa, release_ids=[current.id]
    )
    world.requirements = [req]
    manual = testing_services.testcase_create(
        project=project,
        title="Card payment works",
        by=qa,
        steps=[{"action": "pay", "expected": "paid"}],
        requirement_ids=[req.id],
    )
    world.test_cases = [manual]

    auto_run = TestRunFactory(release=current, name="ci-1", source="ci")
    passed = TestResultFactory(run=auto_run, status="passed")
    failed = TestResultFactory(run=auto_run, status="failed", message="assert 1 == 0")
    world.test_cases += [passed.test_case, failed.test_case]
    manual_run = testing_services.manual_run_create(
        release=current, by=qa, test_case_ids=[manual.id], name="manual-1"
    )
    world.runs = [auto_run, manual_run]
    world.results = [failed, passed, *TestResult.objects.filter(run=manual_run)]

    first = defect_services.defect_create(
        project=project, title="Checkout crashes", by=qa, severity="critical", found_in_release=current
    )
    second = defect_services.defect_create(
        project=project, title="Typo on receipt", by=qa, severity="minor", found_in_release=current
    )
    defect_services.defect_transition(defect=second, to="triaged", by=qa)
    defect_services.defect_comment_add(defect=first, by=qa, body="Seen on staging too.")
    world.defects = [first, second]
    # Assigning tells the assignee: an in-app notification of this project's QA member
    defect_services.defect_update(defect=first, by=manager, data={"assignee": qa})
    world.notifications = list(Notification.objects.filter(project=project, user=qa))

    gates = list(QualityGate.objects.filter(project=project).order_by("order", "id"))
    world.gates = gates
    world.checklist_items = list(ChecklistItem.objects.filter(gate__project=project).order_by("id"))
    gate = gates[0]
    world.evaluations = [gate_services.gate_evaluate(gate=gate, release=current, by=qa, via="api")]
    if world.checklist_items:
        item = world.checklist_items[0]
        signer = users.get(item.role, rm)
        world.signoffs = [gate_services.signoff_create(item=item, release=current, by=signer)]
    world.decisions = [
        gate_services.decision_record(
            release=current, gate=gate, decision="no_go", rationale="Blocking defect open.", by=rm
        )
    ]

    incident = incident_services.incident_create(
        project=project,
        title="Payments down",
        by=manager,
        started_at=timezone.now() - dt.timedelta(hours=5),
        release=old,
    )
    incident_services.postmortem_save(incident=incident, summary="Config drift", by=manager)
    world.incidents = [incident]
    world.action_items = [
        incident_services.action_item_create(incident=incident, title="Add a check", by=manager)
    ]

    hook = Webhook.objects.create(
        project=project, name="chat", url="https://example.com/hook", secret="s3cret"
    )
    rule = AlertRule.objects.create(
        project=project, metric="blocking_open_defects", threshold=3, owner=manager, created_by=admin
    )
    rule.webhooks.add(hook)
    world.webhooks, world.alert_rules = [hook], [rule]
    # A JUnit report that a worker ingested (the status URL of a 202 answer)
    world.junit_ingestions = [
        JUnitIngestion.objects.create(
            release=world.releases[0], created_by=admin, state="done", path="", content_hash="0" * 64
        )
    ]
    return world


@pytest.fixture
def world_a(db, settings):
    settings.QUALITYGOV_RECOMPUTE_DELAY = 0
    return build_world("HAA")


@pytest.fixture
def world_b(db, world_a):
    return build_world("HBB")


def built_once_per_module(django_db_blocker, build: Callable[[], object]):
    """Generator for a module-scoped fixture: `build()` runs once, inside a transaction that is rolled back when the
    module is done. Each test still asks for `db`, which runs it in a savepoint inside that transaction and rolls
    it back, so every test starts from exactly what `build()` made, as if it had been built for that test alone.
    Only for modules whose tests are not `transaction=True` (those flush the database; see `module_worlds`)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build()
        except BaseException as exc:
            atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _refuse_transactional(request) -> None:
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        pytest.fail("module-scoped worlds live in a transaction; a transaction=True test must build its own")


@pytest.fixture(scope="module")
def module_worlds(django_db_setup, django_db_blocker):
    """(world A, world B) as `world_a`/`world_b` build them, but once per test module (see `built_once_per_module`):
    a module with many tests over the same two projects overrides `world_a`/`world_b` with `module_world_a`/`_b`."""
    yield from built_once_per_module(django_db_blocker, lambda: (build_world("HAA"), build_world("HBB")))


@pytest.fixture
def module_world_a(request, db, module_worlds):
    _refuse_transactional(request)
    return module_worlds[0]


@pytest.fixture
def module_world_b(request, db, module_worlds):
    _refuse_transactional(request)
    return module_worlds[1]
