"""Pages of external evidence: a release's measures, uploads and findings; a project's custom measure keys."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from qualitygov.errors import DomainError
from qualitygov.pages import form_error, may_change, render_form
from qualitygov.uploads import upload_from_file
from releases.access import Action, can, require
from releases.selectors import project_get_for_user, release_get_for_user

from . import selectors, services
from .forms import FindingFilterForm, MeasureForm, MeasureKeyForm, UploadForm

FINDINGS_SHOWN = 200


def _ingest(*, release, form: UploadForm, user):
    data = form.cleaned_data
    upload = upload_from_file(data["file"], limit=settings.QUALITYGOV_MAX_UPLOAD_BYTES)
    try:
        if data["kind"] == "coverage":
            return services.coverage_ingest(
                release=release, upload=upload, by=user, format=data["format"] or None
            )
        if data["kind"] == "loadtest":
            return services.loadtest_ingest(
                release=release, upload=upload, by=user, format=data["format"] or None
            )
        return services.sarif_ingest(release=release, upload=upload, by=user)
    finally:
        upload.close()


@require_http_methods(["GET", "POST"])
def release_evidence(request, pk: int):
    """Latest measures of the release, its uploads and current findings; uploaders add reports and measures."""
    release = release_get_for_user(user=request.user, release_id=pk)
    project = release.project
    may_upload = can(request.user, project, Action.UPLOAD_RESULTS)
    definitions = selectors.key_definitions(project=project)
    upload_form = UploadForm()
    measure_form = MeasureForm(definitions=definitions)
    status = 200
    if request.method == "POST":
        require(request.user, project, Action.UPLOAD_RESULTS)
        which = request.POST.get("form")
        try:
            if which == "measure":
                measure_form = MeasureForm(request.POST, definitions=definitions)
                if measure_form.is_valid():
                    outcome = services.measures_record(
                        release=release, items=[measure_form.cleaned_data], by=request.user, source="browser"
                    )
                    messages.success(
                        request, "Measure recorded." if not outcome.duplicate else "Same value as last time."
                    )
                    return redirect("measures:release_evidence", pk=release.pk)
            else:
                upload_form = UploadForm(request.POST, request.FILES)
                if upload_form.is_valid():
                    outcome = _ingest(release=release, form=upload_form, user=request.user)
                    stored = (
                        ", ".join(f"{m.key} {m.value:g}{m.unit}" for m in outcome.measures) or "no measure"
                    )
                    word = "Already uploaded" if outcome.duplicate else "Uploaded"
                    messages.success(request, f"{word}: {stored}.")
                    return redirect("measures:release_evidence", pk=release.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
        status = 400
    filters = FindingFilterForm(request.GET or None)
    level = new = None
    if filters.is_valid():
        level = filters.cleaned_data["level"] or None
        new = {"1": True, "0": False}.get(filters.cleaned_data["new"])
    findings = selectors.findings_for(release=release, level=level, new=new)
    latest = selectors.latest_measures(release=release, as_of=timezone.now(), keys=definitions)
    context = {
        "project": project,
        "release": release,
        "rows": [(d, latest.get(d.key)) for d in definitions.values()],
        "uploads": selectors.uploads_of(release=release)[:20],
        "findings": findings[:FINDINGS_SHOWN],
        "findings_total": findings.count(),
        "findings_shown": FINDINGS_SHOWN,
        "filters": filters,
        "baseline": selectors.baseline_release(release=release),
        "upload_form": upload_form,
        "measure_form": measure_form,
        "may_manage": may_upload,
    }
    return render(request, "measures/release_evidence.html", context, status=status)


@require_http_methods(["GET", "POST"])
def measure_keys(request, key: str):
    """The project's measure keys; admins define custom ones."""
    project = project_get_for_user(user=request.user, key=key)
    may_manage = may_change(
        request,
        can(request.user, project, Action.MANAGE_GATES),
        "Defining measure keys needs the admin role in this project.",
    )
    form = MeasureKeyForm(request.POST) if request.method == "POST" else MeasureKeyForm()
    if request.method == "POST" and form.is_valid():
        try:
            services.measure_key_create(project=project, by=request.user, **form.cleaned_data)
            messages.success(request, f"Measure key {form.cleaned_data['key']} added.")
            return redirect("measures:measure_keys", key=project.key)
        except DomainError as exc:
            form_error(form, exc)
    context = {
        "project": project,
        "definitions": selectors.key_definitions(project=project).values(),
        "form": form,
        "may_manage": may_manage,
    }
    return render_form(request, "measures/measure_keys.html", context)


@require_POST
def measure_key_delete(request, key: str, measure_key: str):
    project = project_get_for_user(user=request.user, key=key)
    found = selectors.custom_keys(project=project).filter(key=measure_key).first()
    if found is None:
        raise Http404("No such custom measure key.")
    if not can(request.user, project, Action.MANAGE_GATES):
        raise PermissionDenied("Removing measure keys needs the admin role in this project.")
    services.measure_key_delete(measure_key=found, by=request.user)
    messages.success(request, f"Measure key {measure_key} removed.")
    return redirect("measures:measure_keys", key=project.key)
