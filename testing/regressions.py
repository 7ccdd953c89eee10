"""Regressions reopen defects: a test linked to a resolved defect fails again in a later run.

Linked means the defect names the test case (filed from its failure, or linked by hand). Resolved means
resolved, verified or closed. The run must belong to the release the defect was found or fixed in, or to a
later one (created at or after it), so a run of an older maintenance line does not reopen what a newer
release fixed. What happens is the project's choice (ProjectTestSettings.on_regression):

* ``reopen`` (default): the defect moves to ``reopened`` by the system (a transition without a user, with
  the run as its reason) and gets a comment linking the failing result;
* ``flag``: the defect keeps its state and gets the same comment; it shows in the board's "regressed" view.

Either way a TestRegression row records the defect, run, failing result and action, the failing result is
linked to the defect, and the board's "regressed" quick view lists the defect.
"""

from __future__ import annotations

from django.db.models import F, Q
from django.urls import reverse

from .models import ProjectTestSettings, RegressionPolicy, ResultStatus, TestRegression, TestResult, TestRun

FAILED_AGAIN = (ResultStatus.FAILED, ResultStatus.ERROR)


def regression_policy(project_id: int) -> str:
    policy = (
        ProjectTestSettings.objects.filter(project_id=project_id)
        .values_list("on_regression", flat=True)
        .first()
    )
    return policy or RegressionPolicy.REOPEN


def apply_regressions(*, run: TestRun) -> list[TestRegression]:
    """Reopen (or flag) the resolved defects whose linked tests failed in this run. Returns what was done."""
    from defects.models import RESOLVED_STATUSES, Defect, DefectComment, DefectStatus
    from defects.services import defect_transition

    release = run.release
    later_than_defect_release = (
        Q(found_in_release__isnull=True) | Q(found_in_release__created_at__lte=release.created_at)
    ) & (Q(fixed_in_release__isnull=True) | Q(fixed_in_release__created_at__lte=release.created_at))
    failing = TestResult.objects.filter(run=run, status__in=FAILED_AGAIN)
    defects = list(
        Defect.objects.filter(
            later_than_defect_release,
            project_id=release.project_id,
            status__in=RESOLVED_STATUSES,
            test_cases__results__in=failing,
        )
        .annotate(result_id=F("test_cases__results__id"), test_case_id=F("test_cases__id"))
        .order_by("id", "result_id")
    )
    if not defects:
        return []
    policy = regression_policy(release.project_id)
    done: list[TestRegression] = []
    seen: set[int] = set()
    for defect in defects:
        if defect.pk in seen:
            continue  # one regression per defect and run: the first failing linked test names it
        seen.add(defect.pk)
        result = TestResult.objects.select_related("test_case").get(pk=defect.result_id)
        link = f"{reverse('testing:run_detail', args=[run.pk])}?q={result.test_case.name[:100]}"
        what = (
            f"Regression: {result.test_case.title} {result.status} again in run “{run.name}” "
            f"({release.project.key} {release.version}, revision {run.revision or '—'}): {link}"
        )
        regression = TestRegression.objects.create(
            defect=defect,
            run=run,
            result=result,
            test_case_id=result.test_case_id,
            action=policy,
            defect_status=defect.status,
        )
        defect.test_results.add(result)
        if policy == RegressionPolicy.REOPEN:
            defect_transition(defect=defect, to=DefectStatus.REOPENED, by=None, comment=what)
        DefectComment.objects.create(defect=defect, author=None, body=what)
        done.append(regression)
    return done
