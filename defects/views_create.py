"""Pages that bring defects in: the create form (with likely duplicates shown while typing) and the Jira CSV import.

A refusal shows on the form with its own status (400, 403, 409, ...), and the form keeps what was typed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from qualitygov.errors import DomainError
from qualitygov.pages import any_refusal_on_form, render_form
from releases.access import Action, can
from releases.models import Release
from releases.selectors import (
    newest_version_first,
    project_get_for_action,
    project_get_for_user,
    project_list_for_user,
)

from . import selectors, services
from .forms import DefectCreateForm, JiraImportForm
from .jira_import import import_jira_csv, timezone_named
from .references import chosen

MAX_IMPORT_BYTES = 20 * 1024 * 1024


@require_http_methods(["GET", "POST"])
def create(request):
    """Report a defect; likely duplicates show up while the title and description are typed."""
    projects = [
        p for p in project_list_for_user(user=request.user) if can(request.user, p, Action.EDIT_DEFECTS)
    ]
    project_ids = [p.pk for p in projects]
    releases = (
        Release.objects.filter(project_id__in=project_ids)
        .select_related("project")
        .order_by("project__key", *newest_version_first())
    )
    members = (
        get_user_model()
        .objects.filter(memberships__project_id__in=project_ids)
        .distinct()
        .order_by("username")
    )
    initial = {"project": request.GET.get("project", projects[0].key if projects else "")}
    form = DefectCreateForm(
        request.POST or None, initial=initial, projects=projects, releases=releases, members=members
    )
    if request.method == "POST" and form.is_valid():
        v = dict(form.cleaned_data)
        with any_refusal_on_form(form):
            project = project_get_for_action(
                user=request.user, key=v.pop("project"), action=Action.EDIT_DEFECTS
            )
            v["found_in_release"] = chosen(releases, v["found_in_release"])
            v["fixed_in_release"] = chosen(releases, v["fixed_in_release"])
            v["assignee"] = chosen(members, v["assignee"])
            defect = services.defect_create(project=project, by=request.user, **v)
            messages.success(request, f"{defect.key} created.")
            return redirect("defects:detail", key=defect.key)
    return render_form(request, "defects/create.html", {"form": form, "no_projects": not projects})


@require_GET
def similar_preview(request):
    """Fragment: likely duplicates of the text being typed in the create form."""
    key = request.GET.get("project", "")
    title = request.GET.get("title", "")
    description = request.GET.get("description", "")
    found = []
    if key and (len(title.strip()) >= 3 or len(description.strip()) >= 10):
        project = project_get_for_user(user=request.user, key=key)
        found = selectors.defect_similar_list(
            project_id=project.pk, title=title, description=description, limit=5
        )
    return render(request, "defects/_similar.html", {"similar": found, "preview": True})


@require_http_methods(["GET", "POST"])
def import_jira(request):
    """Upload a Jira CSV export into a project (managers and admins): dry run, skipped-row report."""
    projects = [p for p in project_list_for_user(user=request.user) if can(request.user, p, Action.IMPORT)]
    form = JiraImportForm(request.POST or None, request.FILES or None, projects=projects)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with any_refusal_on_form(form):
            project = project_get_for_action(
                user=request.user, key=form.cleaned_data["project"], action=Action.IMPORT
            )
            if upload.size > MAX_IMPORT_BYTES:
                raise DomainError(
                    f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.", field="file"
                )
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise DomainError("The file is not UTF-8 text.", field="file") from exc
            report = import_jira_csv(
                project=project,
                text=text,
                by=request.user,
                dry_run=form.cleaned_data["dry_run"],
                environment=form.cleaned_data["environment"] or None,
                tz=timezone_named(form.cleaned_data["timezone"]),
            )
    context = {
        "form": form,
        "report": report,
        "no_projects": not projects,
        "project_key": form.data.get("project", "") if form.is_bound else "",
    }
    template = "defects/_import_result.html" if request.htmx else "defects/import.html"
    return render_form(request, template, context)
