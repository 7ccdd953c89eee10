"""Release metrics of the contract (scope: one release R, as of T), one function per metric.

Every function takes the release and T, runs ORM aggregates in the database and returns a MetricResult with the
sample size n. "As of T" means only events with timestamp <= T count: a defect's state as of T is the to_status of
its latest transition with at <= T (ties: greatest id), its resolution likewise; a test result counts when its
finished_at <= T. The fields a metric reads (severity, found-in environment, found-in release) are replayed from
their change history to the values they had at T (defects.asof), and so are requirement scope and test-case links
(testing.asof), so a later edit never changes a past figure.
"""

import datetime as dt

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import Lead

from defects.asof import closures_q, defects_as_of, release_defects_as_of
from defects.models import (
    BLOCKING_SEVERITIES,
    INVALID_RESOLUTIONS,
    OPEN_STATUSES,
    RESOLVED_STATUSES,
    DefectStatus,
    DefectTransition,
    Environment,
    Resolution,
)
from testing.asof import linked_as_of, links_as_of, scope_as_of
from testing.models import CRITICAL_LEVELS, ResultStatus, TestCase, TestResult

from .results import MetricResult
from .sql import SecondsBetween, is_postgres, percentile_cont

SEVEN_DAYS = dt.timedelta(days=7)
EXECUTED_STATUSES = (ResultStatus.PASSED, ResultStatus.FAILED, ResultStatus.ERROR, ResultStatus.BLOCKED)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _share(key: str, counts: dict[str, int], part: str) -> MetricResult:
    """A percentage metric from aggregated counts: counts[part] over counts["total"] (n), the part in the details."""
    return MetricResult(key, _pct(counts[part], counts["total"]), counts["total"], "%", {part: counts[part]})


# --- Building blocks --------------------------------------------------------------------------------------------


def valid_q() -> Q:
    """Valid defect: resolution (as of T) is not duplicate or not_a_defect."""
    return ~Q(resolution_as_of__in=INVALID_RESOLUTIONS)


def release_defects(release, as_of: dt.datetime) -> QuerySet:
    """Defects found in R as of T that existed at T, with their state, resolution and fields as of T."""
    return defects_as_of(release_defects_as_of(release, as_of), as_of)


def latest_results(release, as_of: dt.datetime) -> QuerySet:
    """Each test case's latest result in R as of T: greatest finished_at, ties greatest id."""
    latest_id = (
        TestResult.objects.filter(release=release, test_case=OuterRef("test_case"), finished_at__lte=as_of)
        .order_by("-finished_at", "-id")
        .values("id")[:1]
    )
    return TestResult.objects.filter(release=release, finished_at__lte=as_of, id=Subquery(latest_id))


def reopen_parts(as_of: dt.datetime) -> tuple[Exists, Exists]:
    """The parts of the reopen rate, shared with its drill-down so both count the same defects: two expressions
    over a defect, `resolved_once` (it entered a resolved state by T) and `reopened` (it moved from a resolved
    state to reopened by T)."""
    resolved_once = Exists(
        DefectTransition.objects.filter(defect=OuterRef("pk"), to_status__in=RESOLVED_STATUSES, at__lte=as_of)
    )
    reopened = Exists(
        DefectTransition.objects.filter(
            defect=OuterRef("pk"),
            from_status__in=RESOLVED_STATUSES,
            to_status=DefectStatus.REOPENED,
            at__lte=as_of,
        )
    )
    return resolved_once, reopened


def reopen_rate_of(defects: QuerySet, as_of: dt.datetime) -> tuple[float | None, int, int]:
    """(100*Rd/D, D, Rd) over valid defects of the queryset (annotated by defects_as_of)."""
    resolved_once, reopened = reopen_parts(as_of)
    counts = (
        defects.filter(valid_q())
        .annotate(resolved_once=resolved_once, reopened=reopened)
        .aggregate(
            d=Count("pk", filter=Q(resolved_once=True)),
            rd=Count("pk", filter=Q(resolved_once=True, reopened=True)),
        )
    )
    return _pct(counts["rd"], counts["d"]), counts["d"], counts["rd"]


KNOWN_ENVIRONMENTS = tuple(Environment.values)


def leakage_of(defects: QuerySet) -> tuple[float | None, int, int]:
    """(100*escaped/(escaped+pre), escaped+pre, escaped) over valid defects of the queryset (annotated with
    environment_as_of). A defect whose environment is unknown (null) is neither escaped nor pre-release."""
    counts = defects.filter(valid_q()).aggregate(
        escaped=Count("pk", filter=Q(environment_as_of=Environment.PRODUCTION)),
        total=Count("pk", filter=Q(environment_as_of__in=KNOWN_ENVIRONMENTS)),
    )
    return _pct(counts["escaped"], counts["total"]), counts["total"], counts["escaped"]


# --- Release metrics --------------------------------------------------------------------------------------------


def open_defects(*, release, as_of: dt.datetime) -> MetricResult:
    """Defects found in R whose state as of T is open."""
    counts = release_defects(release, as_of).aggregate(
        open=Count("pk", filter=Q(state_as_of__in=OPEN_STATUSES)), total=Count("pk")
    )
    return MetricResult(
        "open_defects", counts["open"], counts["total"], "count", {"defects": counts["total"]}
    )


def blocking_open_defects(*, release, as_of: dt.datetime) -> MetricResult:
    """The same as open_defects, severity (as of T) blocker or critical."""
    counts = release_defects(release, as_of).aggregate(
        blocking=Count("pk", filter=Q(state_as_of__in=OPEN_STATUSES, severity_as_of__in=BLOCKING_SEVERITIES)),
        open=Count("pk", filter=Q(state_as_of__in=OPEN_STATUSES)),
    )
    return MetricResult("blocking_open_defects", counts["blocking"], counts["open"], "count", {})


def defect_arrivals_7d(*, release, as_of: dt.datetime) -> MetricResult:
    """Defects found in R (as of T) created in (T-7d, T]."""
    arrivals = (
        release_defects_as_of(release, as_of)
        .filter(created_at__gt=as_of - SEVEN_DAYS, created_at__lte=as_of)
        .count()
    )
    return MetricResult("defect_arrivals_7d", arrivals, arrivals, "count", {})


def defect_closures_7d(*, release, as_of: dt.datetime) -> MetricResult:
    """Moves of R's defects (found in R as of T) from an open state into a resolved state in (T-7d, T]."""
    closures = DefectTransition.objects.filter(
        closures_q(),
        defect__in=release_defects_as_of(release, as_of).values("pk"),
        at__gt=as_of - SEVEN_DAYS,
        at__lte=as_of,
    ).count()
    return MetricResult("defect_closures_7d", closures, closures, "count", {})


def defect_net_flow_7d(*, release, as_of: dt.datetime) -> MetricResult:
    """arrivals_7d - closures_7d (positive = backlog growing)."""
    arrivals = defect_arrivals_7d(release=release, as_of=as_of)
    closures = defect_closures_7d(release=release, as_of=as_of)
    return MetricResult(
        "defect_net_flow_7d",
        arrivals.value - closures.value,
        arrivals.n + closures.n,
        "count",
        {"arrivals": arrivals.value, "closures": closures.value},
    )


def reopen_rate(*, release, as_of: dt.datetime) -> MetricResult:
    """D = valid defects of R that entered a resolved state at least once by T; Rd = those of D with at least one
    move from a resolved state to reopened by T. 100*Rd/D; null if D = 0."""
    value, d, rd = reopen_rate_of(release_defects(release, as_of), as_of)
    return MetricResult("reopen_rate", value, d, "%", {"reopened": rd, "resolved": d})


def _open_seconds_per_defect(defect_ids_qs: QuerySet, as_of: dt.datetime) -> tuple[str, list]:
    """SQL (and params) giving one row (defect_id, open_seconds) per defect: the summed time spent in open states.

    Intervals come from a Window Lead over each defect's transitions up to T: a transition into an open state lasts
    until the defect's next transition. The per-defect sum is a GROUP BY over that windowed query.
    """
    windowed = (
        DefectTransition.objects.filter(defect__in=defect_ids_qs, at__lte=as_of)
        .annotate(
            next_at=Window(
                Lead("at"), partition_by=[F("defect_id")], order_by=[F("at").asc(), F("id").asc()]
            ),
        )
        .annotate(interval_seconds=SecondsBetween(F("next_at"), F("at")))
        .values("defect_id", "to_status", "interval_seconds")
    )
    inner_sql, params = windowed.query.sql_with_params()
    placeholders = ", ".join(["%s"] * len(OPEN_STATUSES))
    sql = (
        f"SELECT w.defect_id AS defect_id, SUM(w.interval_seconds) AS open_seconds FROM ({inner_sql}) w "  # noqa: S608
        f"WHERE w.to_status IN ({placeholders}) GROUP BY w.defect_id"
    )
    return sql, [*params, *OPEN_STATUSES]


def defect_mttr_hours(*, release, as_of: dt.datetime) -> MetricResult:
    """Over valid defects of R whose latest state as of T is resolved and that were fixed: mean of the summed open
    time (every interval spent in an open state, reopen intervals included). Also report median and p90.

    Median and p90 are percentile_cont in SQL on PostgreSQL; on SQLite the same interpolation runs over the
    per-defect sums (one number per defect) fetched from the database.
    """
    fixed = (
        release_defects(release, as_of)
        .filter(state_as_of__in=RESOLVED_STATUSES, resolution_as_of=Resolution.FIXED)
        .values("pk")
    )
    per_defect_sql, params = _open_seconds_per_defect(fixed, as_of)
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(
                "SELECT COUNT(*), AVG(p.open_seconds), "  # noqa: S608
                "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY p.open_seconds), "
                f"PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY p.open_seconds) FROM ({per_defect_sql}) p",
                params,
            )
            n, mean, median, p90 = cursor.fetchone()
        else:
            cursor.execute(f"SELECT p.open_seconds FROM ({per_defect_sql}) p", params)  # noqa: S608
            seconds = [row[0] for row in cursor.fetchall()]
            n = len(seconds)
            mean = sum(seconds) / n if n else None
            median, p90 = percentile_cont(seconds, 0.5), percentile_cont(seconds, 0.9)
    hours = lambda s: None if s is None else round(float(s) / 3600.0, 2)  # noqa: E731
    return MetricResult(
        "defect_mttr_hours", hours(mean), int(n or 0), "hours", {"median": hours(median), "p90": hours(p90)}
    )


def defect_leakage(*, release, as_of: dt.datetime) -> MetricResult:
    """escaped = valid defects found in R in production; pre = valid defects found in R elsewhere.
    100*escaped/(escaped+pre); null if both 0."""
    value, total, escaped = leakage_of(release_defects(release, as_of))
    return MetricResult(
        "defect_leakage", value, total, "%", {"escaped": escaped, "pre_release": total - escaped}
    )


def requirement_parts(*, release, as_of: dt.datetime) -> tuple[QuerySet, Exists, Exists]:
    """The parts of the requirement metrics, shared with their drill-down so both count the same requirements:
    the requirements in R's scope at T, and two expressions over a requirement: `linked` (a test case was linked
    to it at T) and `unverified` (a test case linked at T has no latest result in R as of T, or one that is not
    passed). Scope and links are replayed from their history (testing.asof), so a change made today never moves
    a figure as of yesterday."""
    latest_status = Subquery(
        TestResult.objects.filter(release=release, test_case=OuterRef("test_case_id"), finished_at__lte=as_of)
        .order_by("-finished_at", "-id")
        .values("status")[:1]
    )
    unverified = Exists(
        links_as_of(as_of)
        .filter(requirement_id=OuterRef("pk"))
        .annotate(latest_status=latest_status)
        .filter(Q(latest_status__isnull=True) | ~Q(latest_status=ResultStatus.PASSED))
    )
    return scope_as_of(release, as_of), linked_as_of(as_of), unverified


def requirement_coverage(*, release, as_of: dt.datetime) -> MetricResult:
    """Requirements in R's scope with at least one linked test case, over all requirements in scope."""
    scope, linked, _ = requirement_parts(release=release, as_of=as_of)
    counts = scope.annotate(linked=linked).aggregate(
        total=Count("pk"), covered=Count("pk", filter=Q(linked=True))
    )
    return _share("requirement_coverage", counts, "covered")


def verified_counts(*, release, as_of: dt.datetime, critical_only: bool = False) -> dict[str, int]:
    """{total, verified} over the requirements in R's scope at T (criticality high or critical only, if asked):
    verified = at least one linked test case, every linked test case having a latest result in R as of T, and
    every such result passed."""
    scope, linked, unverified = requirement_parts(release=release, as_of=as_of)
    if critical_only:
        scope = scope.filter(criticality__in=CRITICAL_LEVELS)
    return scope.annotate(linked=linked, unverified=unverified).aggregate(
        total=Count("pk"), verified=Count("pk", filter=Q(linked=True, unverified=False))
    )


def verified_requirements(*, release, as_of: dt.datetime) -> MetricResult:
    """Requirements in scope with at least one linked test case, every linked test case having a latest result in R,
    and every such latest result passed; over all requirements in scope."""
    counts = verified_counts(release=release, as_of=as_of)
    return _share("verified_requirements", counts, "verified")


def verified_critical_requirements(*, release, as_of: dt.datetime) -> MetricResult:
    """verified_requirements restricted to criticality high or critical (null with none in scope).

    Scope, links and test results are as of T; criticality is the requirement's current one (it has no history)."""
    counts = verified_counts(release=release, as_of=as_of, critical_only=True)
    return _share("verified_critical_requirements", counts, "verified")


def test_pass_rate(*, release, as_of: dt.datetime) -> MetricResult:
    """Over test cases with a latest result in R that is not skipped: passed/(passed+failed+error+blocked)."""
    counts = latest_results(release, as_of).aggregate(
        executed=Count("pk", filter=Q(status__in=EXECUTED_STATUSES)),
        passed=Count("pk", filter=Q(status=ResultStatus.PASSED)),
        failed=Count("pk", filter=Q(status__in=(ResultStatus.FAILED, ResultStatus.ERROR))),
        blocked=Count("pk", filter=Q(status=ResultStatus.BLOCKED)),
        skipped=Count("pk", filter=Q(status=ResultStatus.SKIPPED)),
    )
    details = {k: counts[k] for k in ("passed", "failed", "blocked", "skipped")}
    return MetricResult(
        "test_pass_rate", _pct(counts["passed"], counts["executed"]), counts["executed"], "%", details
    )


def flaky_case_parts(*, release, as_of: dt.datetime) -> tuple[QuerySet, Exists, Exists]:
    """The parts of `flaky_test_rate`, shared with its drill-down so both count the same cases: the test cases
    with any result in R as of T, and the two ways one is flaky (a retry changed the outcome inside one report;
    passed and failed/error results for the same revision), as expressions over a test case."""
    results = TestResult.objects.filter(release=release, finished_at__lte=as_of)
    retry_flaky = Exists(results.filter(test_case=OuterRef("pk"), flaky=True))
    failed_same_revision = results.filter(
        test_case=OuterRef("test_case"),
        status__in=(ResultStatus.FAILED, ResultStatus.ERROR),
        run__revision=OuterRef("run__revision"),
    )
    revision_flaky = Exists(
        results.filter(test_case=OuterRef("pk"), status=ResultStatus.PASSED)
        .exclude(run__revision="")
        .filter(Exists(failed_same_revision))
    )
    with_results = TestCase.objects.filter(Exists(results.filter(test_case=OuterRef("pk"))))
    return with_results, retry_flaky, revision_flaky


def flaky_test_rate(*, release, as_of: dt.datetime) -> MetricResult:
    """Test cases of R flagged flaky (a retry changed the outcome inside one report, or both passed and
    failed/error results exist for the same revision) over test cases with any result in R."""
    with_results, retry_flaky, revision_flaky = flaky_case_parts(release=release, as_of=as_of)
    counts = with_results.annotate(retry_flaky=retry_flaky, revision_flaky=revision_flaky).aggregate(
        total=Count("pk"), flaky=Count("pk", filter=Q(retry_flaky=True) | Q(revision_flaky=True))
    )
    return _share("flaky_test_rate", counts, "flaky")


RELEASE_METRIC_FUNCTIONS = {
    "open_defects": open_defects,
    "blocking_open_defects": blocking_open_defects,
    "defect_arrivals_7d": defect_arrivals_7d,
    "defect_closures_7d": defect_closures_7d,
    "defect_net_flow_7d": defect_net_flow_7d,
    "reopen_rate": reopen_rate,
    "defect_mttr_hours": defect_mttr_hours,
    "defect_leakage": defect_leakage,
    "requirement_coverage": requirement_coverage,
    "verified_requirements": verified_requirements,
    "verified_critical_requirements": verified_critical_requirements,
    "test_pass_rate": test_pass_rate,
    "flaky_test_rate": flaky_test_rate,
}
