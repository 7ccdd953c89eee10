"""Pages for test runs: the run list and detail, planning a manual run, executing it case by case, completing
it, and filing a defect from a failed result.

They parse input, call one service or selector, and render; refusals show next to the field they name.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from defects.models import Environment
from qualitygov.errors import AccessDenied, DomainError
from qualitygov.pages import form_error
from qualitygov.services import parse_id, parse_ids
from releases.access import Action, can
from releases.selectors import project_list_for_user, release_get_for_user

from . import selectors, services
from .forms import FileDefectForm, ManualRunForm
from .models import ResultStatus, RunSource, RunStatus, TestResult
from .views import PAGE_SIZE


def run_list(request):
    release_id = parse_id(request.GET.get("release"))
    source = request.GET.get("source", "")
    release = release_get_for_user(user=request.user, release_id=release_id) if release_id else None
    qs = selectors.run_list(user=request.user, release_id=release_id, source=source)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "release": release,
        "source": source,
        "sources": RunSource.choices,
        "can_plan": release is not None and can(request.user, release.project_id, Action.EXECUTE_TESTS),
    }
    return render(request, "testing/run_list.html", context)


def run_detail(request, pk: int):
    run = selectors.run_get_for_user(user=request.user, pk=pk)
    p = request.GET
    filters = {
        "status": p.get("status", ""),
        "flaky": p.get("flaky", ""),
        "suite": p.get("suite", ""),
        "q": p.get("q", "").strip(),
    }
    results = selectors.run_results(run=run, **filters)
    page = Paginator(results, PAGE_SIZE).get_page(p.get("page"))
    context = {
        "run": run,
        "release": run.release,
        "page": page,
        "filters": filters,
        "statuses": ResultStatus.choices,
        "suites": selectors.run_suites(run=run),
        "comparison": selectors.run_comparison(run=run),
        "can_file": can(request.user, run.release.project_id, Action.EDIT_DEFECTS),
        "can_execute": run.source == RunSource.MANUAL
        and run.status == RunStatus.IN_PROGRESS
        and can(request.user, run.release.project_id, Action.EXECUTE_TESTS),
        "failing": services.FAILING_STATUSES,
        "query": "&".join(f"{k}={v}" for k, v in filters.items() if v),
    }
    return render(request, "testing/run_detail.html", context)


@require_http_methods(["GET", "POST"])
def run_create(request, release_id: int):
    """Plan a manual run of a release from a selection: by requirement, component or search."""
    release = release_get_for_user(user=request.user, release_id=release_id)
    if not can(request.user, release.project_id, Action.EXECUTE_TESTS):
        raise PermissionDenied("Running tests needs the QA, manager, release manager or admin role.")
    source = request.POST if request.method == "POST" else request.GET
    requirement_ids = parse_ids(source.getlist("requirement"))
    component = source.get("component", "").strip()
    q = source.get("q", "").strip()
    form = ManualRunForm(request.POST or None, initial={"environment": Environment.TEST})
    if request.method == "POST" and "create" in request.POST and form.is_valid():
        try:
            run = services.manual_run_create(
                release=release,
                by=request.user,
                test_case_ids=parse_ids(request.POST.getlist("test_cases")),
                name=form.cleaned_data["name"],
                environment=form.cleaned_data["environment"],
            )
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Run “{run.name}” planned with {run.tests} test case(s).")
            return redirect("testing:run_execute", pk=run.pk)
    candidates = selectors.testcase_selection(
        release=release, requirement_ids=requirement_ids, component=component, q=q
    )
    context = {
        "release": release,
        "project": release.project,
        "form": form,
        "candidates": candidates,
        "requirements": release.project.requirements.only("id", "project_id", "key", "title"),
        "selected_requirements": requirement_ids,
        "component": component,
        "q": q,
    }
    return render(request, "testing/run_create.html", context, status=400 if form.errors else 200)


def _execute_context(request, run, case, result, error=""):
    return {
        "run": run,
        "case": case,
        "result": result,
        "error": error,
        "statuses": services.MANUAL_STATUSES,
        "step_rows": list(
            zip(case.steps, (result.step_results if result else []) + [None] * len(case.steps), strict=False)
        ),
        "can_file": result is not None
        and result.status in services.FAILING_STATUSES
        and can(request.user, run.release.project_id, Action.EDIT_DEFECTS),
        "can_execute": run.status == RunStatus.IN_PROGRESS,
    }


def run_execute(request, pk: int):
    """The tester's worklist: every planned case with its outcome form (htmx posts one case at a time)."""
    run = selectors.run_get_for_user(user=request.user, pk=pk)
    if run.source != RunSource.MANUAL:
        raise Http404("Only manual runs are executed here.")
    if not can(request.user, run.release.project_id, Action.EXECUTE_TESTS):
        raise PermissionDenied("Running tests needs the QA, manager, release manager or admin role.")
    items = [
        _execute_context(request, run, case, result)
        for case, result in selectors.manual_run_worklist(run=run)
    ]
    return render(request, "testing/run_execute.html", {"run": run, "release": run.release, "items": items})


@require_POST
def run_record(request, pk: int, case_id: int):
    """Record one case's outcome; returns the case fragment to htmx, or redirects a plain form post."""
    run = selectors.run_get_for_user(user=request.user, pk=pk)
    case = run.planned_cases.filter(pk=case_id).first()
    if case is None:
        raise Http404("This test case is not part of the run.")
    steps = []
    for i in range(len(case.steps)):
        steps.append(
            {
                "status": request.POST.get(f"step-{i}-status", ""),
                "comment": request.POST.get(f"step-{i}-comment", ""),
            }
        )
    if steps and not any(s["status"] for s in steps):
        steps = []
    error = ""
    try:
        result = services.manual_result_record(
            run=run,
            test_case=case,
            by=request.user,
            status=request.POST.get("status", ""),
            comment=request.POST.get("comment", ""),
            step_results=steps,
        )
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        error = exc.message
        result = run.results.filter(test_case=case).first()
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        return redirect("testing:run_execute", pk=run.pk)
    run.refresh_from_db()
    context = _execute_context(request, run, case, result, error)
    # htmx swaps only 2xx answers: a refusal comes back as the same fragment with its message shown.
    response = render(request, "testing/_execute_case.html", context)
    response["HX-Trigger"] = "runCountsChanged"
    return response


def run_counts(request, pk: int):
    run = selectors.run_get_for_user(user=request.user, pk=pk)
    return render(request, "testing/_run_counts.html", {"run": run})


@require_POST
def run_complete(request, pk: int):
    run = selectors.run_get_for_user(user=request.user, pk=pk)
    try:
        services.manual_run_complete(run=run, by=request.user)
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Run completed.")
    return redirect("testing:run_detail", pk=run.pk)


@require_POST
def result_file_defect(request, pk: int):
    """One click: a defect prefilled from the failed result, linked to it, its test case and requirements."""
    result = (
        TestResult.objects.select_related("run__release__project", "release__project", "test_case")
        .filter(pk=pk, release__project__in=project_list_for_user(user=request.user))
        .first()
    )
    if result is None:
        raise Http404("No such result.")
    form = FileDefectForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {"title": "", "severity": "major"}
    try:
        defect = services.defect_file_from_result(
            result=result, by=request.user, title=data["title"], severity=data["severity"]
        )
    except AccessDenied as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("testing:run_detail", pk=result.run_id)
    messages.success(request, f"Defect {defect.key} filed from the failed result.")
    return redirect("defects:detail", key=defect.key)
