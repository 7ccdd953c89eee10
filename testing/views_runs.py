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
from qualitygov.pages import refusal_as_message, refusal_on_form, render_form
from qualitygov.services import parse_id, parse_ids
from releases.access import Action, can
from releases.selectors import project_list_for_user, release_get_for_user

from . import selectors, services
from .forms import FileDefectForm, ManualRunForm
from .models import ResultStatus, RunSource, RunStatus, TestCaseKind, TestResult
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
    page.object_list = list(page.object_list)
    filed = selectors.result_defects(result_ids=[r.pk for r in page.object_list])
    for r in page.object_list:
        r.filed_defect = filed.get(r.pk)
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
    """Plan a manual run of a release from a selection: by requirement, component, search, kind and scope.

    Only manual cases in the release's scope start ticked; after a refusal the ticks sent are kept.
    """
    release = release_get_for_user(user=request.user, release_id=release_id)
    if not can(request.user, release.project_id, Action.EXECUTE_TESTS):
        raise PermissionDenied("Running tests needs the QA, manager, release manager or admin role.")
    source = request.POST if request.method == "POST" else request.GET
    requirement_ids = parse_ids(source.getlist("requirement"))
    component = source.get("component", "").strip()
    q = source.get("q", "").strip()
    kind = source.get("kind", "")
    kind = kind if kind in TestCaseKind.values else ""
    has_scope = selectors.release_has_scope(release=release)
    scope = source.get("scope", "release" if has_scope else "all")
    scope = scope if scope in ("release", "all") else "all"
    form = ManualRunForm(request.POST or None, initial={"environment": Environment.TEST})
    chosen = set(parse_ids(request.POST.getlist("test_cases"))) if request.method == "POST" else None
    if request.method == "POST" and "create" in request.POST and form.is_valid():
        with refusal_on_form(form):
            run = services.manual_run_create(
                release=release,
                by=request.user,
                test_case_ids=sorted(chosen),
                name=form.cleaned_data["name"],
                environment=form.cleaned_data["environment"],
            )
            messages.success(request, f"Run “{run.name}” planned with {run.tests} test case(s).")
            return redirect("testing:run_execute", pk=run.pk)
    candidates = list(
        selectors.testcase_selection(
            release=release,
            requirement_ids=requirement_ids,
            component=component,
            q=q,
            kind=kind,
            scope_only=scope == "release",
        )
    )
    for c in candidates:
        if chosen is not None and "create" in request.POST:
            c.preselected = c.pk in chosen
        else:
            c.preselected = c.kind == TestCaseKind.MANUAL and (c.in_scope or not has_scope)
    context = {
        "release": release,
        "project": release.project,
        "form": form,
        "candidates": candidates,
        "requirements": release.project.requirements.only("id", "project_id", "key", "title"),
        "selected_requirements": requirement_ids,
        "component": component,
        "q": q,
        "kind": kind,
        "kinds": TestCaseKind.choices,
        "scope": scope,
        "has_scope": has_scope,
        "preselected_count": sum(1 for c in candidates if c.preselected),
    }
    return render_form(request, "testing/run_create.html", context)


def _execute_context(request, run, case, result, error="", filed=None, typed=None):
    """One case of the worklist. `filed` is the defect filed from its result; `typed` is what the tester sent
    (shown again after a refusal, so nothing typed is lost)."""
    if typed is not None:
        outcomes, status, comment = typed["steps"], typed["status"], typed["comment"]
    else:
        outcomes = result.step_results if result else []
        status, comment = (result.status, result.comment) if result else ("", "")
    return {
        "run": run,
        "case": case,
        "result": result,
        "error": error,
        "filed": filed,
        "typed_status": status,
        "typed_comment": comment,
        "statuses": services.MANUAL_STATUSES,
        "step_rows": list(zip(case.steps, list(outcomes) + [None] * len(case.steps), strict=False)),
        "can_file": result is not None
        and result.status in services.FAILING_STATUSES
        and can(request.user, run.release.project_id, Action.EDIT_DEFECTS),
        "can_execute": run.status == RunStatus.IN_PROGRESS,
    }


def _worklist(request, run, *, typed_case=None, typed=None, error=""):
    pairs = selectors.manual_run_worklist(run=run)
    filed = selectors.result_defects(result_ids=[r.pk for _, r in pairs if r is not None])
    return [
        _execute_context(
            request,
            run,
            case,
            result,
            filed=filed.get(result.pk) if result else None,
            **({"typed": typed, "error": error} if case.pk == typed_case else {}),
        )
        for case, result in pairs
    ]


def run_execute(request, pk: int):
    """The tester's worklist: every planned case with its outcome form (htmx posts one case at a time)."""
    run = selectors.run_get_for_user(user=request.user, pk=pk)
    if run.source != RunSource.MANUAL:
        raise Http404("Only manual runs are executed here.")
    if not can(request.user, run.release.project_id, Action.EXECUTE_TESTS):
        raise PermissionDenied("Running tests needs the QA, manager, release manager or admin role.")
    context = {"run": run, "release": run.release, "items": _worklist(request, run)}
    return render(request, "testing/run_execute.html", context)


@require_POST
def run_record(request, pk: int, case_id: int):
    """Record one case's outcome; returns the case fragment to htmx, or redirects a plain form post.

    A refused outcome comes back with everything the tester typed (step outcomes, notes, comment) in place.
    """
    run = selectors.run_get_for_user(user=request.user, pk=pk)
    case = run.planned_cases.filter(pk=case_id).first()
    if case is None:
        raise Http404("This test case is not part of the run.")
    steps = [
        {
            "status": request.POST.get(f"step-{i}-status", ""),
            "comment": request.POST.get(f"step-{i}-comment", ""),
        }
        for i in range(len(case.steps))
    ]
    typed = {
        "steps": steps,
        "status": request.POST.get("status", ""),
        "comment": request.POST.get("comment", ""),
    }
    if steps and not any(s["status"] or s["comment"] for s in steps):
        steps = []
    error = ""
    try:
        result = services.manual_result_record(
            run=run,
            test_case=case,
            by=request.user,
            status=typed["status"],
            comment=typed["comment"],
            step_results=steps,
        )
    except AccessDenied:
        raise
    except DomainError as exc:
        error = exc.message
        result = run.results.filter(test_case=case).first()
    if not request.htmx:
        if error:
            run.refresh_from_db()
            items = _worklist(request, run, typed_case=case.pk, typed=typed, error=error)
            context = {"run": run, "release": run.release, "items": items}
            return render(request, "testing/run_execute.html", context, status=400)
        return redirect("testing:run_execute", pk=run.pk)
    run.refresh_from_db()
    filed = selectors.result_defects(result_ids=[result.pk]).get(result.pk) if result else None
    context = _execute_context(request, run, case, result, error, filed=filed, typed=typed if error else None)
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
    with refusal_as_message(request):
        services.manual_run_complete(run=run, by=request.user)
        messages.success(request, "Run completed.")
    return redirect("testing:run_detail", pk=run.pk)


@require_http_methods(["GET", "POST"])
def result_file_defect(request, pk: int):
    """File a defect from a failed result: a prefilled form to review (GET), filed on submit (POST).

    A result already filed shows its defect instead (idempotent; the service also refuses to file a twin).
    """
    result = (
        TestResult.objects.select_related("run__release__project", "release__project", "test_case")
        .filter(pk=pk, release__project__in=project_list_for_user(user=request.user))
        .first()
    )
    if result is None:
        raise Http404("No such result.")
    existing = selectors.result_defects(result_ids=[result.pk]).get(result.pk)
    if existing is not None:
        messages.info(request, f"This result was already filed as {existing.key}.")
        return redirect("defects:detail", key=existing.key)
    if not can(request.user, result.release.project_id, Action.EDIT_DEFECTS):
        raise PermissionDenied("Filing defects needs the QA, manager, release manager or admin role.")
    initial = {
        "title": services.defect_title_for(result),
        "severity": "major",
        "priority": "medium",
        "component": result.test_case.component,
        "description": services.defect_description_for(result),
    }
    form = FileDefectForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        v = form.cleaned_data
        with refusal_on_form(form):
            defect, created = services.defect_file_from_result(
                result=result,
                by=request.user,
                title=v["title"],
                severity=v["severity"],
                priority=v["priority"],
                component=v["component"] if "component" in request.POST else None,
                description=v["description"],
            )
            if created:
                messages.success(request, f"Defect {defect.key} filed from the failed result.")
            else:
                messages.info(request, f"This result was already filed as {defect.key}.")
            return redirect("defects:detail", key=defect.key)
    context = {"form": form, "result": result, "run": result.run, "release": result.release}
    return render_form(request, "testing/result_file_defect.html", context)
