"""Incident pages: list with filters, new, detail with restore, post-mortem and action items.

Writes need Action.MANAGE_INCIDENTS in the incident's project (403 otherwise); each calls one service.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from qualitygov.errors import DomainError
from qualitygov.pages import form_error
from qualitygov.services import parse_id
from releases.access import Action, can
from releases.selectors import project_get_for_user, project_list_for_user

from . import selectors, services
from .forms import ActionItemForm, ActionItemStatusForm, IncidentForm, PostMortemForm, ProjectChoiceForm
from .models import ActionItem, IncidentSeverity


def _require_manage(user, project) -> None:
    if not can(user, project, Action.MANAGE_INCIDENTS):
        raise PermissionDenied("Managing incidents needs the manager, release manager or admin role.")


def _incident(request, pk: int):
    incident = selectors.incident_get(projects=project_list_for_user(user=request.user), pk=pk)
    if incident is None:
        raise Http404("No such incident.")
    return incident


def incident_list(request):
    projects = list(project_list_for_user(user=request.user))
    filters = {k: request.GET.get(k, "") for k in ("project", "release", "severity", "state")}
    filters["release"] = parse_id(filters["release"])
    page = Paginator(selectors.incident_list(projects=projects, filters=filters), 50).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "filters": filters,
        "projects": projects,
        "severities": IncidentSeverity.choices,
        "can_create": any(can(request.user, p, Action.MANAGE_INCIDENTS) for p in projects),
    }
    return render(request, "incidents/incident_list.html", context)


@require_http_methods(["GET", "POST"])
def incident_create(request):
    manageable = [
        p for p in project_list_for_user(user=request.user) if can(request.user, p, Action.MANAGE_INCIDENTS)
    ]
    key = request.GET.get("project") or (manageable[0].key if len(manageable) == 1 else "")
    if not key:
        if not manageable:
            raise PermissionDenied("Recording incidents needs the manager, release manager or admin role.")
        return render(
            request, "incidents/incident_pick_project.html", {"form": ProjectChoiceForm(projects=manageable)}
        )
    project = project_get_for_user(user=request.user, key=key)
    _require_manage(request.user, project)
    form = IncidentForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = services.incident_create(project=project, by=request.user, **data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Incident INC-{incident.pk} recorded.")
            return redirect("incidents:incident_detail", pk=incident.pk)
    status = 400 if form.errors else 200
    return render(request, "incidents/incident_form.html", {"form": form, "project": project}, status=status)


@require_http_methods(["GET", "POST"])
def incident_edit(request, pk: int):
    incident = _incident(request, pk)
    _require_manage(request.user, incident.project)
    initial = {
        f: getattr(incident, f)
        for f in ("title", "severity", "release", "started_at", "detected_at", "restored_at", "description")
    }
    initial["defects"] = list(incident.defects.values_list("pk", flat=True))
    form = IncidentForm(request.POST or None, project=incident.project, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        defects = data.pop("defects")
        data["detected_at"] = data["detected_at"] or data["started_at"]
        try:
            services.incident_update(incident=incident, data=data, defects=defects, by=request.user)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Incident updated.")
            return redirect("incidents:incident_detail", pk=incident.pk)
    status = 400 if form.errors else 200
    return render(
        request,
        "incidents/incident_form.html",
        {"form": form, "project": incident.project, "incident": incident},
        status=status,
    )


def incident_detail(request, pk: int):
    incident = _incident(request, pk)
    postmortem = getattr(incident, "postmortem", None)
    context = {
        "incident": incident,
        "project": incident.project,
        "defects": incident.defects.all(),
        "items": incident.action_items.select_related("owner"),
        "postmortem": postmortem,
        "can_manage": can(request.user, incident.project, Action.MANAGE_INCIDENTS),
        "pm_form": PostMortemForm(initial=postmortem.__dict__ if postmortem else None),
        "item_form": ActionItemForm(project=incident.project),
        "status_choices": ActionItemStatusForm.base_fields["status"].choices,
    }
    return render(request, "incidents/incident_detail.html", context)


@require_POST
def incident_restore(request, pk: int):
    incident = _incident(request, pk)
    _require_manage(request.user, incident.project)
    try:
        services.incident_restore(incident=incident, by=request.user)
        messages.success(request, "Incident marked restored.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("incidents:incident_detail", pk=incident.pk)


@require_POST
def postmortem_save(request, pk: int):
    incident = _incident(request, pk)
    _require_manage(request.user, incident.project)
    form = PostMortemForm(request.POST)
    if form.is_valid():
        services.postmortem_save(incident=incident, by=request.user, **form.cleaned_data)
        messages.success(request, "Post-mortem saved.")
    else:
        messages.error(request, "A post-mortem needs a summary.")
    return redirect("incidents:incident_detail", pk=incident.pk)


@require_POST
def action_item_create(request, pk: int):
    incident = _incident(request, pk)
    _require_manage(request.user, incident.project)
    form = ActionItemForm(request.POST, project=incident.project)
    if form.is_valid():
        try:
            services.action_item_create(incident=incident, by=request.user, **form.cleaned_data)
            messages.success(request, "Action item added.")
        except DomainError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, "An action item needs a title (and a valid owner and date).")
    return redirect("incidents:incident_detail", pk=incident.pk)


@require_POST
def action_item_status(request, pk: int, item_pk: int):
    incident = _incident(request, pk)
    _require_manage(request.user, incident.project)
    item = ActionItem.objects.filter(incident=incident, pk=item_pk).first()
    if item is None:
        raise Http404("No such action item.")
    form = ActionItemStatusForm(request.POST)
    if form.is_valid():
        services.action_item_update(item=item, data={"status": form.cleaned_data["status"]}, by=request.user)
        messages.success(request, "Action item updated.")
    else:
        messages.error(request, "Unknown status.")
    return redirect("incidents:incident_detail", pk=incident.pk)
