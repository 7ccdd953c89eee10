"""Pages for requirements, test cases and the traceability matrix (runs: ``views_runs``).

They parse input, call one service or selector, and render. Refusals from services show next to the field
they name; a role that does not allow an action gets 403.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.forms.models import model_to_dict
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from qualitygov.csv_export import csv_response
from qualitygov.errors import DomainError
from qualitygov.pages import refusal_as_message, refusal_on_form, render_form
from qualitygov.services import parse_id, parse_ids
from qualitygov.timeparams import parse_as_of
from releases.access import Action, can, can_anywhere
from releases.selectors import project_get_for_user, project_list_for_user, release_get_for_user

from . import selectors, services
from .forms import RequirementForm, TestCaseForm, format_steps
from .models import TestCaseKind

PAGE_SIZE = 50


def _pick_project(request):
    """The project named by ?project=KEY, or the user's only/first project (404 when they have none)."""
    key = request.GET.get("project") or request.POST.get("project") or ""
    if key:
        return project_get_for_user(user=request.user, key=key)
    project = project_list_for_user(user=request.user).first()
    if project is None:
        raise Http404("You are not a member of any project.")
    return project


def _require_edit_tests(request, project, doing: str) -> None:
    """403 unless the user's role lets them edit the project's requirements and test cases."""
    if not can(request.user, project, Action.EDIT_TESTS):
        raise PermissionDenied(f"{doing} needs the QA, manager, release manager or admin role.")


# --- requirements ---------------------------------------------------------------------------------------


def requirement_list(request):
    q = request.GET.get("q", "").strip()
    project_key = request.GET.get("project", "")
    release_id = parse_id(request.GET.get("release"))
    qs = selectors.requirement_list(user=request.user, project_key=project_key, q=q, release_id=release_id)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "selected_project": project_key.upper(),
        "projects": project_list_for_user(user=request.user),
        "can_create": can_anywhere(request.user, Action.EDIT_TESTS),
    }
    return render(request, "testing/requirement_list.html", context)


@require_http_methods(["GET", "POST"])
def requirement_form(request, pk: int | None = None):
    """The requirement form: a new one (requirements/new/, in ?project=KEY or the user's first project) or
    editing requirement `pk`; a valid POST saves it."""
    requirement = selectors.requirement_get_for_user(user=request.user, pk=pk) if pk is not None else None
    project = requirement.project if requirement else _pick_project(request)
    _require_edit_tests(request, project, "Editing requirements" if requirement else "Creating requirements")
    initial = None
    if requirement is not None:
        initial = model_to_dict(
            requirement, fields=("key", "title", "description", "criticality", "component")
        )
        initial["releases"] = [str(r) for r in requirement.releases.values_list("pk", flat=True)]
    form = RequirementForm(request.POST or None, project=project, initial=initial)
    if request.method == "POST" and form.is_valid():
        with refusal_on_form(form):
            if requirement is None:
                requirement = services.requirement_create(
                    project=project, by=request.user, **form.service_data()
                )
                messages.success(request, f"Requirement {requirement.key} created.")
            else:
                services.requirement_update(
                    requirement=requirement, by=request.user, data=form.service_data()
                )
                messages.success(request, f"Requirement {requirement.key} saved.")
            return redirect("testing:requirement_detail", pk=requirement.pk)
    context = {"form": form, "project": project, "requirement": requirement}
    return render_form(request, "testing/requirement_form.html", context)


def requirement_detail(request, pk: int):
    requirement = selectors.requirement_get_for_user(user=request.user, pk=pk)
    detail = selectors.requirement_detail(requirement=requirement)
    link_q = request.GET.get("link_q", "").strip()
    candidates = []
    if link_q:
        linked = {c.pk for c in detail.test_cases}
        candidates = [
            c
            for c in selectors.testcase_list(
                user=request.user, project_key=requirement.project.key, q=link_q
            ).order_by("suite", "title", "id")[:50]
            if c.pk not in linked
        ]
    rows = [
        (case, [detail.latest.get(case.pk, {}).get(r.pk) for r in detail.releases])
        for case in detail.test_cases
    ]
    context = {
        "requirement": requirement,
        "project": requirement.project,
        "detail": detail,
        "rows": rows,
        "link_q": link_q,
        "candidates": candidates,
        "can_edit": can(request.user, requirement.project, Action.EDIT_TESTS),
    }
    return render(request, "testing/requirement_detail.html", context)


def _link_posted(request, *, project, requirement_ids: list[int]) -> int | None:
    """Link the posted test cases to the requirements (unlink with unlink=1): how many links changed, or None when
    the service refused (its message is shown; a 403 stays a 403)."""
    with refusal_as_message(request):
        return services.testcases_link_requirements(
            project=project,
            by=request.user,
            test_case_ids=parse_ids(request.POST.getlist("test_cases")),
            requirement_ids=requirement_ids,
            unlink=request.POST.get("unlink") == "1",
        )
    return None


@require_POST
def requirement_link(request, pk: int):
    """Link (or unlink) test cases to this requirement from its page."""
    requirement = selectors.requirement_get_for_user(user=request.user, pk=pk)
    changed = _link_posted(request, project=requirement.project, requirement_ids=[requirement.pk])
    if changed is not None:
        verb = "Unlinked" if request.POST.get("unlink") == "1" else "Linked"
        messages.success(request, f"{verb} {changed} test case(s).")
    return redirect("testing:requirement_detail", pk=requirement.pk)


# --- test cases -----------------------------------------------------------------------------------------


def testcase_list(request):
    p = request.GET
    project_key = p.get("project", "")
    q = p.get("q", "").strip()
    qs = selectors.testcase_list(
        user=request.user,
        project_key=project_key,
        q=q,
        kind=p.get("kind", ""),
        component=p.get("component", ""),
        requirement_id=parse_id(p.get("requirement")),
    ).order_by("project__key", "kind", "suite", "title", "id")
    page = Paginator(qs, PAGE_SIZE).get_page(p.get("page"))
    project = project_get_for_user(user=request.user, key=project_key) if project_key else None
    context = {
        "page": page,
        "q": q,
        "kind": p.get("kind", ""),
        "component": p.get("component", ""),
        "kinds": TestCaseKind.choices,
        "selected_project": project_key.upper(),
        "project": project,
        "projects": project_list_for_user(user=request.user),
        "requirements": list(project.requirements.only("id", "project_id", "key", "title"))
        if project
        else [],
        "can_edit": project is not None and can(request.user, project, Action.EDIT_TESTS),
        "can_create": can_anywhere(request.user, Action.EDIT_TESTS),
    }
    return render(request, "testing/testcase_list.html", context)


@require_POST
def testcase_bulk_link(request):
    project = project_get_for_user(user=request.user, key=request.POST.get("project", ""))
    changed = _link_posted(
        request, project=project, requirement_ids=parse_ids(request.POST.getlist("requirements"))
    )
    if changed is not None:
        messages.success(request, f"{changed} link(s) changed.")
    return redirect(f"{reverse('testing:testcase_list')}?project={project.key}")


@require_http_methods(["GET", "POST"])
def testcase_form(request, pk: int | None = None):
    """The test case form: a new one (testcases/new/, in ?project=KEY or the user's first project;
    ?requirement=ID preselects links) or editing test case `pk`; a valid POST saves it."""
    case = selectors.testcase_get_for_user(user=request.user, pk=pk) if pk is not None else None
    project = case.project if case else _pick_project(request)
    _require_edit_tests(request, project, "Editing test cases" if case else "Creating test cases")
    if case is None:
        initial = {"requirements": request.GET.getlist("requirement")}
    else:
        initial = model_to_dict(case, fields=("title", "kind", "suite", "component", "preconditions"))
        initial["steps"] = format_steps(case.steps)
        initial["requirements"] = [str(i) for i in case.requirements.values_list("pk", flat=True)]
    form = TestCaseForm(request.POST or None, project=project, initial=initial)
    if request.method == "POST" and form.is_valid():
        with refusal_on_form(form):
            if case is None:
                case = services.testcase_create(project=project, by=request.user, **form.service_data())
                messages.success(request, f"Test case “{case.title}” created.")
            else:
                services.testcase_update(test_case=case, by=request.user, data=form.service_data())
                messages.success(request, f"Test case “{case.title}” saved.")
            return redirect(f"{reverse('testing:testcase_list')}?project={project.key}")
    return render_form(
        request, "testing/testcase_form.html", {"form": form, "project": project, "case": case}
    )


# --- traceability ---------------------------------------------------------------------------------------


def traceability(request, release_id: int):
    release = release_get_for_user(user=request.user, release_id=release_id)
    gap = request.GET.get("gap", "")
    if gap not in selectors.GAP_FILTERS:
        gap = ""
    q = request.GET.get("q", "").strip()
    try:  # as of T: the matrix a requirement figure as of T counts (a dashboard tile passes its T)
        as_of, status = parse_as_of(request.GET.get("as_of")), 200
    except DomainError as exc:
        messages.error(request, f"as_of: {exc.message}")
        as_of, status = None, 400
    all_rows = selectors.traceability_matrix(release=release, q=q, as_of=as_of)
    rows = [row for row in all_rows if row.matches(gap)] if gap else all_rows
    if request.GET.get("format") == "csv":
        return _traceability_csv(release, rows)
    context = {
        "release": release,
        "project": release.project,
        "rows": rows,
        "gap": gap,
        "q": q,
        "gaps": selectors.GAP_FILTERS.items(),
        "summary": selectors.matrix_summary(all_rows),
        "can_plan": can(request.user, release.project_id, Action.EXECUTE_TESTS),
        "csv_query": urlencode(
            {k: v for k, v in (("gap", gap), ("q", q), ("as_of", as_of and as_of.isoformat())) if v}
        ),
        "as_of": as_of,
        "keep": f"&{urlencode({'as_of': as_of.isoformat()})}" if as_of else "",
    }
    return render(request, "testing/traceability.html", context, status=status)


def _traceability_csv(release, rows) -> HttpResponse:
    header = [
        "requirement",
        "title",
        "state",
        "verified",
        "test_case_id",
        "test_case",
        "latest_status",
        "latest_finished_at",
        "run",
        "open_defects",
        "open_blocking_defects",
    ]

    def lines():
        for row in rows:
            defects = " ".join(d.key for d in row.open_defects)
            blocking = " ".join(d.key for d in row.open_defects if d.is_blocking)
            base = [row.requirement.key, row.requirement.title, row.state, "yes" if row.verified else "no"]
            if not row.cells:
                yield [*base, "", "", "", "", "", defects, blocking]
            for case, result in row.cells:
                yield [
                    *base,
                    case.pk,
                    case.title,
                    result.status if result else "not run",
                    result.finished_at.isoformat() if result else "",
                    result.run_id if result else "",
                    defects,
                    blocking,
                ]

    return csv_response(
        filename=f"traceability-{release.project.key}-{release.version}.csv", header=header, rows=lines()
    )
