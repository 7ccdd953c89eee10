"""Reads for requirements, test cases, runs, results and the traceability matrix (bounded queries each)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.http import Http404
from django.utils import timezone

from defects.asof import defects_as_of, release_defects_as_of, with_fields_as_of
from defects.models import BLOCKING_SEVERITIES, OPEN_STATUSES, Defect
from qualitygov.selectors import filter_given
from releases.models import Project, Release
from releases.selectors import project_list_for_user

from .asof import links_as_of, scope_as_of
from .models import CRITICAL_LEVELS, JUnitIngestion, Requirement, ResultStatus, TestCase, TestResult, TestRun

FAILING = (ResultStatus.FAILED, ResultStatus.ERROR)
GAP_FILTERS = {
    "no_tests": "Without test cases",
    "failing": "With failing tests",
    "not_run": "With tests not run",
    "blocking": "With open blocking defects",
    "covered": "With test cases (coverage)",
    "verified": "Verified",
    "critical": "Criticality high or critical",
    "critical_unverified": "Critical (high or critical) not verified",
}


def _visible_projects(user) -> QuerySet[Project]:
    return project_list_for_user(user=user)


def _count(model, fk: str, **filters):
    counted = (
        model.objects.filter(**{fk: OuterRef("pk")}, **filters)
        .order_by()
        .values(fk)
        .annotate(c=Count("*"))
        .values("c")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# --- requirements ---------------------------------------------------------------------------------------


def requirement_list(*, user, project_key: str = "", q: str = "", release_id: int | None = None) -> QuerySet:
    """Requirements the user may see, with their project, test-case count and open-defect count (one query)."""
    qs = Requirement.objects.filter(project__in=_visible_projects(user)).select_related("project")
    qs = filter_given(qs, project__key=project_key.upper())
    if q:
        qs = qs.filter(Q(key__icontains=q) | Q(title__icontains=q) | Q(component__icontains=q))
    qs = filter_given(qs, releases__id=release_id)
    through = TestCase.requirements.through
    return qs.annotate(
        test_case_count=_count(through, "requirement"),
        open_defect_count=_count(
            Defect.requirements.through, "requirement", defect__status__in=OPEN_STATUSES
        ),
    ).order_by("project__key", "key")


def requirement_get_for_user(*, user, pk: int) -> Requirement:
    requirement = (
        Requirement.objects.filter(project__in=_visible_projects(user), pk=pk)
        .select_related("project")
        .first()
    )
    if requirement is None:
        raise Http404("No such requirement.")
    return requirement


def latest_results(*, release_ids=None, test_case_ids=None, as_of=None) -> QuerySet[TestResult]:
    """The contract's latest result of each test case in each release (as of T: among those finished by T):
    greatest finished_at, ties by greatest id. One query (window function), filtered by releases and/or test cases.
    """
    qs = TestResult.objects.all() if as_of is None else TestResult.objects.filter(finished_at__lte=as_of)
    if release_ids is not None:
        qs = qs.filter(release_id__in=list(release_ids))
    if test_case_ids is not None:
        qs = qs.filter(test_case_id__in=list(test_case_ids))
    ranked = qs.annotate(
        rank=Window(
            expression=RowNumber(),
            partition_by=[F("release_id"), F("test_case_id")],
            order_by=[F("finished_at").desc(), F("id").desc()],
        )
    )
    return ranked.filter(rank=1)


@dataclass
class RequirementDetail:
    requirement: Requirement
    test_cases: list[TestCase]
    releases: list[Release]
    # latest[test_case_id][release_id] -> TestResult
    latest: dict[int, dict[int, TestResult]]
    defects: list[Defect]


def requirement_detail(*, requirement: Requirement) -> RequirementDetail:
    """A requirement with its test cases, their latest result per release of the project, and linked defects."""
    cases = list(requirement.test_cases.order_by("suite", "name", "title", "id"))
    latest: dict[int, dict[int, TestResult]] = defaultdict(dict)
    release_ids: set[int] = set()
    if cases:
        for result in latest_results(test_case_ids=[c.pk for c in cases]).select_related("run"):
            latest[result.test_case_id][result.release_id] = result
            release_ids.add(result.release_id)
    scope_ids = set(requirement.releases.values_list("pk", flat=True))
    releases = list(Release.objects.filter(pk__in=release_ids | scope_ids).order_by("-created_at", "-id"))
    defects = list(requirement.defects.select_related("found_in_release").order_by("-created_at", "-id"))
    return RequirementDetail(requirement, cases, releases, dict(latest), defects)


# --- test cases -----------------------------------------------------------------------------------------


def testcase_list(
    *, user, project_key: str = "", q: str = "", kind: str = "", component: str = "", requirement_id=None
) -> QuerySet[TestCase]:
    """Test cases the user may see, with project and their requirements prefetched (two queries)."""
    qs = TestCase.objects.filter(project__in=_visible_projects(user)).select_related("project")
    qs = filter_given(qs, project__key=project_key.upper())
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(identity__icontains=q) | Q(suite__icontains=q))
    qs = filter_given(qs, kind=kind, component__iexact=component, requirements__id=requirement_id)
    return qs.prefetch_related(
        Prefetch("requirements", queryset=Requirement.objects.only("id", "key", "title"))
    )


def testcase_get_for_user(*, user, pk: int) -> TestCase:
    case = (
        TestCase.objects.filter(project__in=_visible_projects(user), pk=pk).select_related("project").first()
    )
    if case is None:
        raise Http404("No such test case.")
    return case


def result_defects(*, result_ids) -> dict[int, Defect]:
    """The defect filed from each of these results (the first linked one), in one query."""
    links = (
        Defect.test_results.through.objects.filter(testresult_id__in=list(result_ids))
        .select_related("defect")
        .order_by("testresult_id", "defect_id")
    )
    found: dict[int, Defect] = {}
    for link in links:
        found.setdefault(link.testresult_id, link.defect)
    return found


def testcase_selection(
    *,
    release: Release,
    requirement_ids=(),
    component: str = "",
    q: str = "",
    kind: str = "",
    scope_only: bool = False,
    limit: int = 500,
) -> QuerySet[TestCase]:
    """Candidate test cases for a manual run of the release: by requirement, component, search and kind.

    Each case carries `in_scope`: it verifies a requirement in the release's scope. `scope_only` keeps only
    those. Manual cases in scope come first.
    """
    in_scope = Exists(Requirement.objects.filter(test_cases=OuterRef("pk"), releases=release).values("pk"))
    qs = TestCase.objects.filter(project_id=release.project_id).annotate(in_scope=in_scope)
    if requirement_ids:
        qs = qs.filter(requirements__id__in=list(requirement_ids)).distinct()
    qs = filter_given(qs, component__iexact=component)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(identity__icontains=q))
    qs = filter_given(qs, kind=kind, in_scope=scope_only)
    return qs.order_by("-in_scope", "-kind", "suite", "title", "id")[:limit]


def release_has_scope(*, release: Release) -> bool:
    """True when some requirement lists the release in its scope."""
    return Requirement.objects.filter(releases=release).exists()


# --- runs -----------------------------------------------------------------------------------------------


def run_list(
    *, user, release_id: int | None = None, source: str = "", project_key: str = ""
) -> QuerySet[TestRun]:
    """Runs the user may see, newest first, with release and project (one query)."""
    qs = TestRun.objects.filter(release__project__in=_visible_projects(user)).select_related(
        "release__project", "created_by"
    )
    qs = filter_given(qs, release_id=release_id, source=source, release__project__key=project_key.upper())
    return qs.order_by("-started_at", "-id")


def run_get_for_user(*, user, pk: int) -> TestRun:
    run = run_list(user=user).filter(pk=pk).first()
    if run is None:
        raise Http404("No such run.")
    return run


def ingestion_get_for_user(*, user, pk: int) -> JUnitIngestion:
    """A queued JUnit ingestion of a release the user may see (with its release and project); Http404 otherwise."""
    ingestion = (
        JUnitIngestion.objects.select_related("release__project")
        .filter(pk=pk, release__project__in=_visible_projects(user))
        .first()
    )
    if ingestion is None:
        raise Http404("No such upload.")
    return ingestion


def recent_runs(*, release: Release, limit: int = 10) -> list[TestRun]:
    return list(release.test_runs.select_related("created_by").order_by("-started_at", "-id")[:limit])


def run_results(
    *, run: TestRun, status: str = "", flaky: str = "", suite: str = "", q: str = ""
) -> QuerySet[TestResult]:
    """A run's results with their test cases, filtered by status, flaky (yes/no), suite and a text search."""
    qs = run.results.select_related("test_case", "executed_by")
    if status:
        qs = qs.filter(status=status)
    if flaky in ("yes", "true", "1"):
        qs = qs.filter(flaky=True)
    elif flaky in ("no", "false", "0"):
        qs = qs.filter(flaky=False)
    if suite:
        qs = qs.filter(test_case__suite=suite)
    if q:
        qs = qs.filter(Q(test_case__title__icontains=q) | Q(message__icontains=q))
    # Failures first: what a reader of a run page looks for.
    first = Case(
        When(status__in=FAILING, then=Value(0)),
        When(status=ResultStatus.BLOCKED, then=Value(1)),
        default=Value(2),
    )
    return qs.order_by(
        first,
        "status",
        "test_case__suite",
        "test_case__title",
        "id",
    )


def run_suites(*, run: TestRun) -> list[str]:
    return list(
        run.results.exclude(test_case__suite="")
        .order_by("test_case__suite")
        .values_list("test_case__suite", flat=True)
        .distinct()[:500]
    )


def previous_run(*, run: TestRun) -> TestRun | None:
    """The run of the same release started just before this one (same source family not required)."""
    return (
        TestRun.objects.filter(release_id=run.release_id)
        .filter(Q(started_at__lt=run.started_at) | Q(started_at=run.started_at, pk__lt=run.pk))
        .order_by("-started_at", "-id")
        .first()
    )


@dataclass
class RunComparison:
    previous: TestRun | None
    new_failures: list[TestResult] = field(default_factory=list)
    fixed: list[TestResult] = field(default_factory=list)
    still_failing: list[TestResult] = field(default_factory=list)


def run_comparison(*, run: TestRun, limit: int = 200) -> RunComparison:
    """Compare with the previous run of the release: new failures, fixed, still failing (three queries).

    Failing means failed or error. A test failing now that did not fail before (or was absent) is a new
    failure; one that failed before and passed now is fixed.
    """
    prev = previous_run(run=run)
    if prev is None:
        return RunComparison(previous=None)
    before = dict(prev.results.values_list("test_case_id", "status"))
    now = (
        run.results.select_related("test_case")
        .filter(
            Q(status__in=FAILING)
            | Q(status=ResultStatus.PASSED, test_case_id__in=[k for k, v in before.items() if v in FAILING])
        )
        .order_by("test_case__title", "id")
    )
    out = RunComparison(previous=prev)
    for result in now:
        was = before.get(result.test_case_id)
        if result.status in FAILING:
            (out.still_failing if was in FAILING else out.new_failures).append(result)
        elif was in FAILING:
            out.fixed.append(result)
    out.new_failures = out.new_failures[:limit]
    out.fixed = out.fixed[:limit]
    out.still_failing = out.still_failing[:limit]
    return out


def manual_run_worklist(*, run: TestRun) -> list[tuple[TestCase, TestResult | None]]:
    """The planned cases of a manual run, each with its recorded result (two queries)."""
    results = {r.test_case_id: r for r in run.results.all()}
    cases = run.planned_cases.order_by("suite", "title", "id")
    return [(case, results.get(case.pk)) for case in cases]


# --- traceability ---------------------------------------------------------------------------------------


@dataclass
class MatrixRow:
    requirement: Requirement
    cells: list[tuple[TestCase, TestResult | None]]
    open_defects: list[Defect]

    @property
    def has_tests(self) -> bool:
        return bool(self.cells)

    @property
    def failing(self) -> bool:
        return any(r is not None and r.status in FAILING for _, r in self.cells)

    @property
    def not_run(self) -> bool:
        return any(r is None for _, r in self.cells)

    @property
    def blocking(self) -> bool:
        return any(d.severity_as_of in BLOCKING_SEVERITIES for d in self.open_defects)

    @property
    def verified(self) -> bool:
        """The contract's verified requirement: tests exist, each has a latest result, all passed."""
        return bool(self.cells) and all(
            r is not None and r.status == ResultStatus.PASSED for _, r in self.cells
        )

    @property
    def state(self) -> str:
        if not self.cells:
            return "no_tests"
        if self.failing:
            return "failing"
        if self.verified:
            return "verified"
        return "not_run" if self.not_run else "partial"

    @property
    def state_label(self) -> str:
        return {"no_tests": "no tests", "not_run": "not run"}.get(self.state, self.state)

    def matches(self, gap: str) -> bool:
        return {
            "no_tests": not self.has_tests,
            "failing": self.failing,
            "not_run": self.has_tests and self.not_run,
            "blocking": self.blocking,
            "verified": self.verified,  # the verified_requirements metric's numerator
            "covered": self.has_tests,  # the requirement_coverage metric's numerator
            "critical": self.critical,  # the verified_critical_requirements metric's denominator
            "critical_unverified": self.critical and not self.verified,  # what keeps it below 100 %
        }.get(gap, True)

    @property
    def critical(self) -> bool:
        """Criticality high or critical: the requirements `verified_critical_requirements` looks at."""
        return self.requirement.criticality in CRITICAL_LEVELS


def traceability_matrix(
    *, release: Release, gap: str = "", q: str = "", as_of: dt.datetime | None = None
) -> list[MatrixRow]:
    """Rows: requirements in the release's scope; cells: their test cases' latest results in the release;
    plus the open defects of this release linked to each requirement. As of T (default now), like the
    requirement metrics it is the destination of: scope and links replayed from their history (testing.asof),
    results finished by T, defects open at T with their severity at T. Four queries whatever the size.
    """
    at = as_of or timezone.now()
    reqs = scope_as_of(release, at).order_by("key")
    if q:
        reqs = reqs.filter(Q(key__icontains=q) | Q(title__icontains=q))
    reqs = list(reqs)
    req_ids = [r.pk for r in reqs]
    cases_by_req: dict[int, list[TestCase]] = defaultdict(list)
    for link in links_as_of(at).filter(requirement_id__in=req_ids).select_related("test_case"):
        cases_by_req[link.requirement_id].append(link.test_case)
    case_ids = {c.pk for cases in cases_by_req.values() for c in cases}
    latest = {}
    if case_ids:
        latest = {
            r.test_case_id: r
            for r in latest_results(release_ids=[release.pk], test_case_ids=case_ids, as_of=at).only(
                "id", "test_case_id", "release_id", "status", "finished_at", "flaky", "run_id"
            )
        }
    defects_by_req: dict[int, list[Defect]] = defaultdict(list)
    if reqs:
        # Open defects of this release only: "open blocking defect" has one meaning on every page (glossary).
        open_then = (
            defects_as_of(with_fields_as_of(Defect.objects.filter(project_id=release.project_id), at), at)
            .filter(pk__in=release_defects_as_of(release, at).values("pk"), state_as_of__in=OPEN_STATUSES)
            .filter(requirements__in=req_ids)
            .annotate(requirement_id=F("requirements__id"))
            .order_by("key")
        )
        for d in open_then:
            defects_by_req[d.requirement_id].append(d)
    rows = [
        MatrixRow(
            requirement=r,
            cells=[
                (c, latest.get(c.pk))
                for c in sorted(cases_by_req[r.pk], key=lambda c: (c.suite, c.title, c.pk))
            ],
            open_defects=defects_by_req.get(r.pk, []),
        )
        for r in reqs
    ]
    if gap:
        rows = [row for row in rows if row.matches(gap)]
    return rows


def matrix_summary(rows: list[MatrixRow]) -> dict[str, int]:
    return {
        "requirements": len(rows),
        "no_tests": sum(not r.has_tests for r in rows),
        "failing": sum(r.failing for r in rows),
        "not_run": sum(r.has_tests and r.not_run for r in rows),
        "blocking": sum(r.blocking for r in rows),
        "verified": sum(r.verified for r in rows),
        "critical": sum(r.critical for r in rows),
        "critical_unverified": sum(r.critical and not r.verified for r in rows),
    }
