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

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from defects.models import (
    ALLOWED_TRANSITIONS,
    OPEN_STATUSES,
    STATUSES_NEEDING_RESOLUTION,
    Defect,
    DefectComment,
    DefectStatus,
    DefectTransition,
    Environment,
    Resolution,
)
from incidents.models import ActionItem, ActionItemStatus, Incident, PostMortem
from testing.junit import make_identity
from testing.models import Requirement, TestCase, TestResult, TestRun

from .models import ChangeClass, Membership, Project, Release, ReleaseStatus, Role

User = get_user_model()

DEMO_PASSWORD = "qualitygov-demo"  # noqa: S105 - documented local demo password
BATCH = 2000

# Demo users: username -> role they hold in every demo project.
DEMO_USERS: dict[str, str] = {
    "admin": Role.ADMIN,
    "qa": Role.QA,
    "manager": Role.MANAGER,
    "rm": Role.RELEASE_MANAGER,
    "viewer": Role.VIEWER,
}

PROJECTS = [
    {
        "key": "PAY",
        "name": "Payments",
        "description": "Card payments, refunds and payouts for the web shop and the mobile apps.",
        "major": 2,
        "package": "payments",
        "components": ["checkout", "refunds", "payouts", "fraud", "ledger", "api"],
        "devs": ["pay.anna", "pay.bilal", "pay.chen"],
    },
    {
        "key": "WEB",
        "name": "Storefront",
        "description": "The customer-facing web shop: catalogue, search, basket and account pages.",
        "major": 5,
        "package": "storefront",
        "components": ["catalogue", "search", "basket", "account", "i18n", "ui"],
        "devs": ["web.dana", "web.emil", "web.farah"],
    },
    {
        "key": "OPS",
        "name": "Platform",
        "description": "Shared platform: deployment pipeline, identity, messaging and observability.",
        "major": 1,
        "package": "platform",
        "components": ["deploy", "identity", "messaging", "metrics", "storage", "scheduler"],
        "devs": ["ops.goran", "ops.hana", "ops.ivo"],
    },
]
DEMO_KEYS = tuple(p["key"] for p in PROJECTS)

SYMPTOMS = [
    "times out",
    "returns HTTP 500",
    "shows a blank page",
    "loses the last entry",
    "double-counts the amount",
    "ignores the locale",
    "logs a stack trace",
    "rejects valid input",
    "accepts an expired token",
    "renders misaligned on mobile",
    "leaks a database connection",
    "rounds to the wrong cent",
    "sends the e-mail twice",
    "crashes under load",
    "shows stale data after refresh",
]
TRIGGERS = [
    "after a retry",
    "for a user with two accounts",
    "when the cache is cold",
    "on the first request of the day",
    "with more than 100 items",
    "during a deploy",
    "when the upstream is slow",
    "with a non-ASCII name",
    "after a session expiry",
    "on Safari",
    "in the nightly batch",
    "with a partial refund",
]
FEATURES = [
    "list and filter",
    "create and validate",
    "audit trail",
    "export to CSV",
    "retry on failure",
    "role-based access",
    "localised messages",
    "bulk update",
    "webhook notification",
    "rate limiting",
    "idempotent submission",
    "reconciliation report",
    "search by keyword",
    "pagination",
    "timeouts",
]
FAILURE_MESSAGES = [
    "AssertionError: expected status 200, got 500",
    "AssertionError: assert 41.99 == 42.0",
    "TimeoutError: operation did not finish within 30s",
    "KeyError: 'currency'",
    "ConnectionRefusedError: [Errno 111] Connection refused",
    "AssertionError: element '#submit' not visible after 10s",
]
INCIDENT_TITLES = [
    "Elevated error rate on {c}",
    "{c} unavailable for part of the users",
    "Slow responses from {c}",
    "Data inconsistency in {c}",
    "Failed deploys blocked {c}",
]

# Release plan per project: (version suffix, days before now it reached production or None, status,
# change class, index of the release it hotfixes or None). Spread over the last six months.
RELEASE_PLAN = [
    ("0.0", 170, ReleaseStatus.RELEASED, ChangeClass.MAJOR, None),
    ("1.0", 140, ReleaseStatus.RELEASED, ChangeClass.MINOR, None),
    ("1.1", 133, ReleaseStatus.RELEASED, ChangeClass.HOTFIX, 1),
    ("2.0", 110, ReleaseStatus.RELEASED, ChangeClass.MINOR, None),
    ("3.0", 80, ReleaseStatus.RELEASED, ChangeClass.MINOR, None),
    ("3.5", None, ReleaseStatus.CANCELLED, ChangeClass.PATCH, None),
    ("4.0", 52, ReleaseStatus.RELEASED, ChangeClass.MINOR, None),
    ("4.1", 46, ReleaseStatus.RELEASED, ChangeClass.HOTFIX, 6),
    ("5.0", 21, ReleaseStatus.RELEASED, ChangeClass.MINOR, None),
    ("6.0", None, ReleaseStatus.READY, ChangeClass.MINOR, None),
    ("7.0", None, ReleaseStatus.TESTING, ChangeClass.MINOR, None),
    ("8.0", None, ReleaseStatus.PLANNING, ChangeClass.MAJOR, None),
]
# For releases not yet in production: (days ago testing started, days until planned date).
ACTIVE_WINDOWS = {
    ReleaseStatus.READY: (28, 3),
    ReleaseStatus.TESTING: (14, 20),
    ReleaseStatus.PLANNING: (4, 45),
    ReleaseStatus.CANCELLED: (95, -70),
}

# Weighted next moves of the defect walk. Every target is checked against ALLOWED_TRANSITIONS.
NEXT_WEIGHTS: dict[str, list[tuple[str, float]]] = {
    DefectStatus.NEW: [
        (DefectStatus.TRIAGED, 0.80),
        (DefectStatus.RESOLVED, 0.04),
        (DefectStatus.CLOSED, 0.16),
    ],
    DefectStatus.TRIAGED: [
        (DefectStatus.IN_PROGRESS, 0.86),
        (DefectStatus.RESOLVED, 0.04),
        (DefectStatus.CLOSED, 0.10),
    ],
    DefectStatus.IN_PROGRESS: [(DefectStatus.RESOLVED, 1.0)],
    DefectStatus.RESOLVED: [(DefectStatus.VERIFIED, 0.88), (DefectStatus.REOPENED, 0.12)],
    DefectStatus.VERIFIED: [(DefectStatus.CLOSED, 0.93), (DefectStatus.REOPENED, 0.07)],
    DefectStatus.CLOSED: [(DefectStatus.REOPENED, 0.04)],
    DefectStatus.REOPENED: [
        (DefectStatus.IN_PROGRESS, 0.70),
        (DefectStatus.TRIAGED, 0.20),
        (DefectStatus.RESOLVED, 0.10),
    ],
}
# Hours spent in a state before the next move (min, max).
DWELL_HOURS: dict[str, tuple[float, float]] = {
    DefectStatus.NEW: (1, 60),
    DefectStatus.TRIAGED: (2, 120),
    DefectStatus.IN_PROGRESS: (4, 180),
    DefectStatus.RESOLVED: (2, 96),
    DefectStatus.VERIFIED: (1, 72),
    DefectStatus.CLOSED: (24, 400),
    DefectStatus.REOPENED: (2, 72),
}

for _state, _moves in NEXT_WEIGHTS.items():
    for _to, _w in _moves:
        assert _to in ALLOWED_TRANSITIONS[_state], (
            f"demo walk uses a move the contract forbids: {_state}->{_to}"
        )


@dataclass
class SeedReport:
    projects: int = 0
    users: int = 0
    releases: int = 0
    requirements: int = 0
    test_cases: int = 0
    runs: int = 0
    results: int = 0
    defects: int = 0
    transitions: int = 0
    incidents: int = 0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Move:
    from_status: str
    to_status: str
    at: dt.datetime
    resolution: str


def refresh_planner_statistics() -> None:
    """ANALYZE after the bulk load, on PostgreSQL: autovacuum would get there eventually, but until it does the
    planner guesses row counts of freshly loaded tables, and one metric query was seen taking minutes instead
    of a fraction of a second (snapshots right after `seed_demo --scale 50`)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def demo_projects_exist() -> bool:
    return Project.objects.filter(key__in=DEMO_KEYS).exists()


def demo_reset() -> int:
    """Delete the demo projects with everything in them (users are kept). Returns how many were deleted.

    Gate evaluations, decisions and waivers are append-only and protect their release; they go first,
    with queryset deletes (no model `delete()`), because a reset is the one place where they may.
    """
    from gates.models import Decision, GateEvaluation, Waiver

    projects = list(Project.objects.filter(key__in=DEMO_KEYS))
    with transaction.atomic():
        Waiver.objects.filter(decision__release__project__in=projects).delete()
        decisions = Decision.objects.filter(release__project__in=projects)
        decisions.update(supersedes=None)
        decisions.delete()
        GateEvaluation.objects.filter(release__project__in=projects).delete()
        for project in projects:
            project.delete()
    return len(projects)


def _weighted(rng: random.Random, pairs: list[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs], k=1)[0]


def _sha(rng: random.Random) -> str:
    return hashlib.sha1(str(rng.random()).encode(), usedforsecurity=False).hexdigest()[:12]


def defect_walk(
    *, rng: random.Random, created_at: dt.datetime, now: dt.datetime, pace: float = 1.0
) -> list[_Move]:
    """A status history from '' -> new, following the allowed moves, never past `now`.

    `pace` > 1 slows the team down (fewer defects finished, as in a release still in testing).
    """
    moves = [_Move("", DefectStatus.NEW, created_at, "")]
    state, at, resolution = DefectStatus.NEW, created_at, ""
    for _ in range(30):
        options = NEXT_WEIGHTS[state]
        if state == DefectStatus.CLOSED and rng.random() > options[0][1]:
            break
        to = _weighted(rng, options) if state != DefectStatus.CLOSED else DefectStatus.REOPENED
        low, high = DWELL_HOURS[state]
        at = at + dt.timedelta(hours=rng.uniform(low, high) * pace, minutes=rng.randint(0, 59))
        if at > now:
            break
        if to == DefectStatus.RESOLVED:
            if state in (DefectStatus.NEW, DefectStatus.TRIAGED):
                resolution = rng.choice([Resolution.CANNOT_REPRODUCE, Resolution.FIXED])
            else:
                resolution = _weighted(
                    rng,
                    [
                        (Resolution.FIXED, 0.92),
                        (Resolution.WONT_FIX, 0.03),
                        (Resolution.CANNOT_REPRODUCE, 0.05),
                    ],
                )
        elif to == DefectStatus.CLOSED and state in (DefectStatus.NEW, DefectStatus.TRIAGED):
            resolution = _weighted(
                rng,
                [(Resolution.DUPLICATE, 0.45), (Resolution.NOT_A_DEFECT, 0.25), (Resolution.WONT_FIX, 0.30)],
            )
        elif to in OPEN_STATUSES:
            resolution = ""
        # verified and closed-after-verified keep the resolution reached at `resolved`
        moves.append(
            _Move(
                state,
                to,
                at,
                resolution if to in STATUSES_NEEDING_RESOLUTION or to == DefectStatus.VERIFIED else "",
            )
        )
        state = to
    return moves


def _ensure_users(rng: random.Random) -> dict[str, object]:
    """Demo users (one password for all, hashed once). Existing users keep their ids; the password is reset."""
    from django.contrib.auth.hashers import make_password

    hashed = make_password(DEMO_PASSWORD)
    names = list(DEMO_USERS) + [dev for p in PROJECTS for dev in p["devs"]]
    users = {}
    for name in names:
        user, _ = User.objects.get_or_create(username=name, defaults={"email": f"{name}@demo.example"})
        user.password = hashed
        user.first_name = name.split(".")[-1].capitalize() if "." in name else ""
        user.save(update_fields=["password", "first_name"])
        users[name] = user
    return users


class DemoBuilder:
    """Builds the demo portfolio; `progress(n)` is called as work gets done (for a progress bar)."""

    def __init__(
        self, *, scale: int, seed: int, now: dt.datetime, progress: Callable[[int], None] | None = None
    ):
        self.scale = max(1, int(scale))
        self.rng = random.Random(seed)
        self.now = now.replace(microsecond=0)
        self.progress = progress or (lambda n: None)
        self.report = SeedReport()

    # Steps per project, for the progress bar's total: five phases, plus one per release for the CI runs.
    STEPS_PER_PROJECT = 5 + len(RELEASE_PLAN)

    def build(self) -> SeedReport:
        users = _ensure_users(self.rng)
        self.report.users = len(users)
        admin = users["admin"]
        from .services import project_create

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
        through = Requirement.releases.through
        links = []
        for req in reqs:
            # A requirement enters at one release and stays in scope for the next two or three.
            first = self.rng.randrange(len(in_scope))
            for rel in in_scope[first : first + self.rng.randint(2, 4)]:
                links.append(through(requirement_id=req.pk, release_id=rel.pk))
        # Every active release has work in scope.
        for rel in in_scope[-3:]:
            for req in self.rng.sample(reqs, k=max(5, len(reqs) // 3)):
                links.append(through(requirement_id=req.pk, release_id=rel.pk))
        through.objects.bulk_create(links, batch_size=BATCH, ignore_conflicts=True)
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
        through = TestCase.requirements.through
        through.objects.bulk_create(
            [through(testcase_id=c.pk, requirement_id=r.pk) for c, r in zip(cases, req_of, strict=True)],
            batch_size=BATCH,
        )
        for case, req in zip(cases, req_of, strict=True):
            case.req = req
        self.report.test_cases += len(cases)
        return cases

    # --- runs and results -----------------------------------------------------------------------------

    def _runs(self, releases: list[Release], reqs: list[Requirement], cases: list[TestCase], *, qa) -> None:
        scope = {}
        through = Requirement.releases.through
        for req_id, rel_id in through.objects.filter(release__in=releases).values_list(
            "requirement_id", "release_id"
        ):
            scope.setdefault(rel_id, set()).add(req_id)
        # Case behaviour: mostly solid, some flaky, some broken until a fix lands mid-window.
        behaviour = {
            c.pk: self.rng.choices(["solid", "flaky", "broken"], weights=[86, 8, 6])[0] for c in cases
        }
        for release in releases:
            self.progress(1)
            if release.status in (ReleaseStatus.PLANNING, ReleaseStatus.CANCELLED):
                continue
            in_scope = scope.get(release.pk, set())
            auto = [c for c in cases if c.kind == "automated" and c.req.pk in in_scope]
            manual = [c for c in cases if c.kind == "manual" and c.req.pk in in_scope]
            start, end = self._window(release)
            n_runs = 3 if release.change_class == ChangeClass.HOTFIX else 6
            span = (end - start).total_seconds()
            runs = []
            for k in range(n_runs):
                started = start + dt.timedelta(seconds=span * (k + 0.5) / (n_runs + 0.5))
                finished = started + dt.timedelta(minutes=self.rng.randint(6, 40))
                if finished > self.now:
                    finished = self.now
                progress = (k + 1) / n_runs
                run = TestRun(
                    release=release,
                    name=f"ci #{1000 + k}",
                    revision=_sha(self.rng),
                    environment=Environment.TEST if k % 3 else Environment.STAGING,
                    source="ci",
                    started_at=started,
                    finished_at=finished,
                )
                counts = dict.fromkeys(("passed", "failed", "error", "skipped", "blocked", "flaky"), 0)
                run_results = []
                for case in auto:
                    kind = behaviour[case.pk]
                    roll = self.rng.random()
                    flaky = False
                    if kind == "broken" and progress < 0.7:
                        status = "failed" if roll < 0.85 else "error"
                    elif kind == "flaky" and roll < 0.25:
                        status, flaky = ("passed", True) if roll < 0.15 else ("failed", False)
                    elif roll < 0.01:
                        status = "failed"
                    elif roll < 0.03:
                        status = "skipped"
                    else:
                        status = "passed"
                    counts[status] += 1
                    counts["flaky"] += flaky
                    run_results.append(
                        TestResult(
                            release=release,
                            test_case=case,
                            status=status,
                            flaky=flaky,
                            attempts=2 if flaky else 1,
                            duration=round(self.rng.uniform(0.02, 4.0), 3),
                            finished_at=finished,
                            message=self.rng.choice(FAILURE_MESSAGES)
                            if status in ("failed", "error")
                            else "",
                        )
                    )
                run.tests = len(run_results)
                run.passed, run.failed, run.errors = counts["passed"], counts["failed"], counts["error"]
                run.skipped, run.flaky = counts["skipped"], counts["flaky"]
                runs.append((run, run_results))
            if manual:
                started = (
                    end - dt.timedelta(days=2)
                    if release.actual_release_date
                    else self.now - dt.timedelta(hours=30)
                )
                started = max(started, start)
                run = TestRun(
                    release=release,
                    name="Manual regression",
                    environment=Environment.STAGING,
                    source="manual",
                    started_at=started,
                    finished_at=started + dt.timedelta(hours=5),
                    created_by=qa,
                )
                run_results = []
                for case in manual:
                    status = self.rng.choices(
                        ["passed", "failed", "blocked", "skipped"], weights=[88, 5, 3, 4]
                    )[0]
                    step_status = "passed" if status == "passed" else status
                    run_results.append(
                        TestResult(
                            release=release,
                            test_case=case,
                            status=status,
                            finished_at=run.finished_at,
                            executed_by=qa,
                            comment="" if status == "passed" else "See attached notes.",
                            step_results=[{"status": "passed", "comment": ""}] * (len(case.steps) - 1)
                            + [{"status": step_status, "comment": ""}],
                        )
                    )
                run.tests = len(run_results)
                for status in ("passed", "failed", "skipped", "blocked"):
                    setattr(run, status, sum(r.status == status for r in run_results))
                runs.append((run, run_results))
            TestRun.objects.bulk_create([r for r, _ in runs], batch_size=BATCH)
            batch = []
            for run, run_results in runs:
                for result in run_results:
                    result.run = run
                    batch.append(result)
            TestResult.objects.bulk_create(batch, batch_size=BATCH)
            self.report.runs += len(runs)
            self.report.results += len(batch)

    # --- defects --------------------------------------------------------------------------------------

    def _defects(self, project, spec, releases, reqs, cases, *, team, reporter) -> list[Defect]:
        per_release_base = {
            ReleaseStatus.RELEASED: 34,
            ReleaseStatus.READY: 30,
            ReleaseStatus.TESTING: 36,
            ReleaseStatus.PLANNING: 6,
            ReleaseStatus.CANCELLED: 8,
        }
        cases_by_component: dict[str, list[TestCase]] = {}
        for case in cases:
            cases_by_component.setdefault(case.component, []).append(case)
        plans = []  # (created_at, release, environment, pace)
        for release in releases:
            n = per_release_base[release.status] * self.scale
            if release.change_class == ChangeClass.HOTFIX:
                n = max(2, n // 6)
            start, end = self._window(release)
            pace = 1.6 if release.status in (ReleaseStatus.TESTING, ReleaseStatus.PLANNING) else 1.0
            for _ in range(n):
                env = self.rng.choices(
                    [Environment.TEST, Environment.STAGING, Environment.DEVELOPMENT, Environment.PRODUCTION],
                    weights=[55, 20, 12, 13 if release.actual_release_date else 0],
                )[0]
                if env == Environment.PRODUCTION:
                    # An escape: found after the release reached production, within six weeks.
                    lo = release.actual_release_date
                    hi = min(self.now, lo + dt.timedelta(days=42))
                else:
                    lo, hi = start, end
                created = lo + dt.timedelta(seconds=self.rng.uniform(0, max(60.0, (hi - lo).total_seconds())))
                created = min(created, self.now - dt.timedelta(minutes=5)).replace(microsecond=0)
                plans.append((created, release, env, pace))
        plans.sort(key=lambda p: p[0])

        defects, histories = [], []
        severities = ["blocker", "critical", "major", "minor", "trivial"]
        priority_of = {
            "blocker": "highest",
            "critical": "high",
            "major": "medium",
            "minor": "low",
            "trivial": "lowest",
        }
        for number, (created, release, env, pace) in enumerate(plans, start=1):
            moves = defect_walk(rng=self.rng, created_at=created, now=self.now, pace=pace)
            last = moves[-1]
            severity = self.rng.choices(severities, weights=[3, 9, 40, 36, 12])[0]
            if env == Environment.PRODUCTION and severity in ("minor", "trivial") and self.rng.random() < 0.5:
                severity = "major"
            component = self.rng.choice(spec["components"])
            assignee = self.rng.choice(team) if len(moves) > 1 or self.rng.random() < 0.3 else None
            resolved_fixed = last.resolution == Resolution.FIXED
            defects.append(
                Defect(
                    project=project,
                    number=number,
                    key=f"{project.key}-{number}",
                    title=f"{component.capitalize()} {self.rng.choice(SYMPTOMS)} {self.rng.choice(TRIGGERS)}",
                    description="Steps to reproduce are in the linked test case.\n\nSeen in build "
                    f"{_sha(self.rng)} on {env}.",
                    severity=severity,
                    priority=priority_of[severity]
                    if self.rng.random() < 0.7
                    else self.rng.choice(list(priority_of.values())),
                    component=component,
                    status=last.to_status,
                    resolution=last.resolution,
                    assignee=assignee,
                    reporter=reporter,
                    found_in_release=release,
                    found_in_environment=env,
                    fixed_in_release=release if resolved_fixed and env != Environment.PRODUCTION else None,
                    created_at=created,
                    version=len(moves),
                )
            )
            histories.append(moves)
        created_defects = Defect.objects.bulk_create(defects, batch_size=BATCH)
        # updated_at is auto_now: leave it; created_at is a plain default so the past dates stick.

        # Duplicates point at an earlier defect of the same project with the same component when possible.
        dups = []
        by_component: dict[str, list[Defect]] = {}
        for defect in created_defects:
            if defect.resolution == Resolution.DUPLICATE:
                earlier = by_component.get(defect.component) or created_defects[: max(1, defect.number - 1)]
                original = self.rng.choice(earlier)
                if original.pk != defect.pk:
                    defect.duplicate_of = original
                    dups.append(defect)
                else:
                    # The very first defect cannot duplicate anything: it was not a defect after all.
                    defect.resolution = Resolution.NOT_A_DEFECT
                    histories[defect.number - 1][-1].resolution = Resolution.NOT_A_DEFECT
                    dups.append(defect)
            by_component.setdefault(defect.component, []).append(defect)
        Defect.objects.bulk_update(dups, ["duplicate_of", "resolution"], batch_size=BATCH)

        transitions, comments = [], []
        actors = team + [reporter]
        for defect, moves in zip(created_defects, histories, strict=True):
            for move in moves:
                by = reporter if move.from_status == "" else self.rng.choice(actors)
                comment = ""
                if move.to_status == DefectStatus.REOPENED:
                    comment = "Still reproducible on the latest build."
                elif move.to_status == DefectStatus.CLOSED and move.resolution == Resolution.DUPLICATE:
                    comment = f"Duplicate of {defect.duplicate_of.key}." if defect.duplicate_of else ""
                transitions.append(
                    DefectTransition(
                        defect=defect,
                        from_status=move.from_status,
                        to_status=move.to_status,
                        resolution=move.resolution,
                        at=move.at,
                        by=by,
                        comment=comment,
                    )
                )
            if len(moves) > 2 and self.rng.random() < 0.3:
                comments.append(
                    DefectComment(
                        defect=defect,
                        author=self.rng.choice(actors),
                        body="Root cause found; fix in review.",
                        created_at=moves[1].at + dt.timedelta(minutes=30),
                    )
                )
        DefectTransition.objects.bulk_create(transitions, batch_size=BATCH)
        DefectComment.objects.bulk_create(comments, batch_size=BATCH)

        # Links: most defects found by tests point at a failing test case and its requirement.
        case_links, req_links = [], []
        for defect in created_defects:
            pool = cases_by_component.get(defect.component)
            if (
                pool
                and defect.found_in_environment in (Environment.TEST, Environment.STAGING)
                and self.rng.random() < 0.6
            ):
                case = self.rng.choice(pool)
                case_links.append(Defect.test_cases.through(defect_id=defect.pk, testcase_id=case.pk))
                req_links.append(Defect.requirements.through(defect_id=defect.pk, requirement_id=case.req.pk))
        Defect.test_cases.through.objects.bulk_create(case_links, batch_size=BATCH, ignore_conflicts=True)
        Defect.requirements.through.objects.bulk_create(req_links, batch_size=BATCH, ignore_conflicts=True)

        self.report.defects += len(created_defects)
        self.report.transitions += len(transitions)
        return created_defects

    # --- incidents ------------------------------------------------------------------------------------

    def _incidents(self, project, spec, releases, defects, *, team, owner, author) -> None:
        escapes: dict[int, list[Defect]] = {}
        for defect in defects:
            if defect.found_in_environment == Environment.PRODUCTION:
                escapes.setdefault(defect.found_in_release_id, []).append(defect)
        hotfixed = {r.hotfix_for_id for r in releases if r.hotfix_for_id}
        per_release = max(1, round(self.scale**0.5))
        incidents, links, postmortems, actions = [], [], [], []
        for release in releases:
            if not release.actual_release_date:
                continue
            count = (
                per_release
                if release.pk in hotfixed
                else sum(self.rng.random() < 0.35 for _ in range(per_release))
            )
            for i in range(count):
                started = release.actual_release_date + dt.timedelta(hours=self.rng.uniform(2, 24 * 12))
                if started > self.now - dt.timedelta(hours=1):
                    continue
                detected = started + dt.timedelta(minutes=self.rng.randint(3, 90))
                severity = self.rng.choices(["sev1", "sev2", "sev3", "sev4"], weights=[1, 3, 5, 2])[0]
                restored = detected + dt.timedelta(minutes=self.rng.randint(20, 60 * 14))
                # The most recent incident of the newest release is still open.
                is_open = release == releases[-4] and i == 0 and spec["key"] != "OPS"
                incident = Incident(
                    project=project,
                    release=release,
                    severity=severity,
                    title=self.rng.choice(INCIDENT_TITLES).format(c=self.rng.choice(spec["components"])),
                    description=f"Customers affected after {project.key} {release.version} went live.",
                    started_at=started,
                    detected_at=min(detected, self.now),
                    restored_at=None if is_open or restored > self.now else restored,
                    reported_by=owner,
                )
                incidents.append(incident)
        Incident.objects.bulk_create(incidents, batch_size=BATCH)
        for incident in incidents:
            incident.created_at = incident.detected_at
            pool = escapes.get(incident.release_id, [])
            for defect in self.rng.sample(pool, k=min(len(pool), self.rng.randint(1, 2))):
                links.append(Incident.defects.through(incident_id=incident.pk, defect_id=defect.pk))
            if incident.restored_at and incident.severity in ("sev1", "sev2", "sev3"):
                postmortems.append(
                    PostMortem(
                        incident=incident,
                        author=author,
                        summary=f"{incident.title} for {int((incident.restored_at - incident.started_at).total_seconds() // 60)} minutes.",
                        root_cause="A change in the release was not covered by an integration test.",
                        findings="Alerting fired late; the rollback took longer than the runbook says.",
                        lessons="Add a contract test; page on error rate, not only on availability.",
                        created_at=incident.restored_at + dt.timedelta(days=1),
                    )
                )
                for j in range(self.rng.randint(1, 3)):
                    due = (incident.restored_at + dt.timedelta(days=self.rng.randint(5, 30))).date()
                    overdue = due < self.now.date()
                    status = (
                        ActionItemStatus.DONE
                        if overdue and self.rng.random() < 0.6
                        else (
                            ActionItemStatus.OPEN if self.rng.random() < 0.7 else ActionItemStatus.IN_PROGRESS
                        )
                    )
                    done_at = None
                    if status == ActionItemStatus.DONE:
                        done_at = min(self.now, dt.datetime.combine(due, dt.time(12), tzinfo=dt.UTC))
                    actions.append(
                        ActionItem(
                            incident=incident,
                            title=[
                                "Add an integration test",
                                "Tune the alert threshold",
                                "Update the rollback runbook",
                            ][j],
                            owner=self.rng.choice(team),
                            due_date=due,
                            status=status,
                            completed_at=done_at,
                        )
                    )
        Incident.objects.bulk_update(incidents, ["created_at"], batch_size=BATCH)
        Incident.defects.through.objects.bulk_create(links, batch_size=BATCH, ignore_conflicts=True)
        PostMortem.objects.bulk_create(postmortems, batch_size=BATCH)
        ActionItem.objects.bulk_create(actions, batch_size=BATCH)
        self.report.incidents += len(incidents)
