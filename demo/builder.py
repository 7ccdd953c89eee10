"""A believable demo portfolio for `manage.py seed_demo`.

Everything is drawn from one `random.Random(seed)` in a fixed order, with timestamps relative to a
`now` fixed at the start, so two runs with the same seed and `now` build the same data. Volume rows
are written with `bulk_create`; projects go through `project_create` so they get their default gates.

Rules the data obeys (the contract in ../shared/docs/metrics.md):
- a defect's history is a walk over `defects.models.ALLOWED_TRANSITIONS` from '' -> new, each move
  later than the previous one and never after `now`; the defect's status and resolution are those of
  its latest move; duplicates point at an earlier defect of the same project;
- production escapes are created after their release reached production;
- released releases have an actual_release_date; hotfixes name the release they repair;
- every test result belongs to a run of the same release and has its run's finish time.
"""

import datetime as dt
import random
from collections.abc import Callable

from django.db import transaction

from releases.models import ChangeClass, Membership, Project, Release, ReleaseStatus, Role
from releases.services import project_create
from testing.junit import make_identity
from testing.models import Requirement, TestCase
from testing.services.tracing import links_change, scope_change

from .data import ACTIVE_WINDOWS, BATCH, DEMO_USERS, FEATURES, PROJECTS, RELEASE_PLAN
from .evidence import DemoEvidence
from .histories import SeedReport
from .services import demo_users_ensure, refresh_planner_statistics
from .track_record import DemoTrackRecord


class DemoBuilder(DemoEvidence, DemoTrackRecord):
    """Builds the demo portfolio; `progress(n)` is called as work gets done (for a progress bar)."""

    def __init__(
        self, *, scale: int, seed: int, now: dt.datetime, progress: Callable[[int], None] | None = None
    ):
        self.scale = max(1, int(scale))
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = now.replace(microsecond=0)
        self.progress = progress or (lambda n: None)
        self.report = SeedReport()

    # Steps per project, for the progress bar's total: five phases, plus one per release for the CI runs.
    STEPS_PER_PROJECT = 5 + len(RELEASE_PLAN)

    def build(self) -> SeedReport:
        users = demo_users_ensure()
        self.report.users = len(users)
        admin = users["admin"]
        built = []
        for spec in PROJECTS:
            with transaction.atomic():
                project = project_create(
                    key=spec["key"], name=spec["name"], description=spec["description"], by=None
                )
                Membership.objects.bulk_create(
                    [Membership(project=project, user=users[n], role=r) for n, r in DEMO_USERS.items()]
                    + [Membership(project=project, user=users[d], role=Role.QA) for d in spec["devs"]]
                )
                self.report.projects += 1
                team = [users[d] for d in spec["devs"]]
                releases = self._releases(project, spec)
                self.progress(1)
                reqs = self._requirements(project, spec, releases)
                self.progress(1)
                cases = self._test_cases(project, spec, reqs)
                self.progress(1)
                self._runs(releases, reqs, cases, qa=users["qa"])
                defects = self._defects(project, spec, releases, reqs, cases, team=team, reporter=users["qa"])
                self.progress(1)
                self._incidents(
                    project, spec, releases, defects, team=team, owner=users["manager"], author=admin
                )
                self.progress(1)
                built.append((project, spec))
        # The synthetic track record the risk calibration learns from, after everything else (demo.track_record).
        for project, spec in built:
            with transaction.atomic():
                self._demo_costs(project, admin=admin)
                self._track_record(project, spec, team=[], reporter=users["qa"], owner=users["manager"])
        refresh_planner_statistics()
        return self.report

    # --- releases -------------------------------------------------------------------------------------

    def _releases(self, project: Project, spec: dict) -> list[Release]:
        rows: list[Release] = []
        for suffix, days_ago, status, change_class, hotfix_index in RELEASE_PLAN:
            version = f"{spec['major']}.{suffix}"
            if days_ago is not None:
                deployed = self.now - dt.timedelta(days=days_ago, hours=self.rng.randint(8, 18))
                planned = (deployed - dt.timedelta(days=self.rng.randint(-2, 4))).date()
                start = deployed - dt.timedelta(days=3 if change_class == ChangeClass.HOTFIX else 30)
            else:
                ago, ahead = ACTIVE_WINDOWS[status]
                deployed = None
                planned = (self.now + dt.timedelta(days=ahead)).date()
                start = self.now - dt.timedelta(days=ago)
            release = Release(
                project=project,
                version=version,
                name="" if change_class == ChangeClass.HOTFIX else self.rng.choice(FEATURES).capitalize(),
                status=status,
                change_class=change_class,
                planned_release_date=planned,
                actual_release_date=deployed,
                description=f"{spec['name']} {version}.",
            )
            release.window_start = start  # transient, used below
            release.hotfix_index = hotfix_index
            rows.append(release)
        created = Release.objects.bulk_create(rows)
        for release in created:
            # created_at is auto_now_add: backdate it to when work on the release started.
            release.created_at = release.window_start
            if release.hotfix_index is not None:
                release.hotfix_for = created[release.hotfix_index]
        Release.objects.bulk_update(created, ["created_at", "hotfix_for"])
        self.report.releases += len(created)
        return created

    def _window(self, release: Release) -> tuple[dt.datetime, dt.datetime]:
        """When testing of a release ran: from its creation to its deployment (or now)."""
        return release.created_at, release.actual_release_date or self.now

    # --- requirements and test cases ------------------------------------------------------------------

    def _requirements(self, project: Project, spec: dict, releases: list[Release]) -> list[Requirement]:
        n = 30 * self.scale
        in_scope = [r for r in releases if r.status != ReleaseStatus.CANCELLED]
        rows = []
        for i in range(n):
            component = self.rng.choice(spec["components"])
            feature = self.rng.choice(FEATURES)
            rows.append(
                Requirement(
                    project=project,
                    key=f"REQ-{i + 1}",
                    title=f"{component.capitalize()}: {feature}",
                    description=f"The {component} component supports {feature} for {spec['name'].lower()} users.",
                    criticality=self.rng.choices(["critical", "high", "medium", "low"], weights=[1, 3, 5, 2])[
                        0
                    ],
                    component=component,
                )
            )
        reqs = Requirement.objects.bulk_create(rows, batch_size=BATCH)
        # Written down when the project's history begins (created_at is auto_now_add).
        Requirement.objects.filter(pk__in=[r.pk for r in reqs]).update(created_at=self._history_start())
        scope: dict[Release, set[tuple[int, int]]] = {}
        for req in reqs:
            # A requirement enters at one release and stays in scope for the next two or three.
            first = self.rng.randrange(len(in_scope))
            for rel in in_scope[first : first + self.rng.randint(2, 4)]:
                scope.setdefault(rel, set()).add((req.pk, rel.pk))
        # Every active release has work in scope.
        for rel in in_scope[-3:]:
            for req in self.rng.sample(reqs, k=max(5, len(reqs) // 3)):
                scope.setdefault(rel, set()).add((req.pk, rel.pk))
        # Scope is set when work on a release starts; the history says so (metrics replay it as of T).
        for rel, pairs in scope.items():
            scope_change(add=pairs, at=rel.created_at)
        self.report.requirements += len(reqs)
        return reqs

    def _test_cases(self, project: Project, spec: dict, reqs: list[Requirement]) -> list[TestCase]:
        rows, req_of = [], []
        for req in reqs:
            if self.rng.random() < 0.08:
                continue  # a coverage gap
            module = f"tests.{spec['package']}.test_{req.component}"
            klass = f"Test{req.key.replace('-', '')}"
            for j in range(self.rng.randint(1, 3)):
                name = f"test_{req.title.split(': ')[1].replace(' ', '_').replace('-', '_')}_{j + 1}"
                suite = f"{module}.{klass}"
                rows.append(
                    TestCase(
                        project=project,
                        # as a pytest report names it: suite "pytest", classname module.Class
                        identity=make_identity(where="pytest", classname=suite, name=name),
                        suite=suite,
                        classname=suite,
                        location="pytest",
                        name=name,
                        title=f"{req.title} ({j + 1})",
                        kind="automated",
                        component=req.component,
                    )
                )
                req_of.append(req)
            if self.rng.random() < 0.5:
                steps = [
                    {
                        "action": f"Open the {req.component} page as a signed-in customer",
                        "expected": "Page loads",
                    },
                    {
                        "action": f"Use '{req.title.split(': ')[1]}'",
                        "expected": "The result matches the spec",
                    },
                    {"action": "Repeat with a second account", "expected": "No data leaks between accounts"},
                ]
                rows.append(
                    TestCase(
                        project=project,
                        title=f"Manual check: {req.title}",
                        kind="manual",
                        component=req.component,
                        preconditions="A staging account with orders.",
                        steps=steps,
                    )
                )
                req_of.append(req)
        cases = TestCase.objects.bulk_create(rows, batch_size=BATCH)
        TestCase.objects.filter(pk__in=[c.pk for c in cases]).update(created_at=self._history_start())
        links_change(add=[(c.pk, r.pk) for c, r in zip(cases, req_of, strict=True)], at=self._history_start())
        for case, req in zip(cases, req_of, strict=True):
            case.req = req
        self.report.test_cases += len(cases)
        return cases
