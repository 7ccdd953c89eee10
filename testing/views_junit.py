"""The "Upload JUnit" form of the release page and the runs list: the API's upload, for a person.

Same checks and messages as `POST /api/v1/releases/{id}/junit/` (the same spooling, limit, parser and
ingestion service); on success it lands on the new run, on a refusal it shows the message next to the field
and keeps what was typed. A report above QUALITYGOV_JUNIT_ASYNC_BYTES goes to the worker as through the API:
the browser lands on the upload's status page, which polls a fragment until the run exists and links to it.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from defects.models import Environment
from qualitygov.errors import DomainError, PayloadTooLarge
from qualitygov.services import parse_id
from qualitygov.uploads import UploadRefused, upload_from_file
from releases.access import Action, can
from releases.models import Release
from releases.selectors import release_get_for_user, release_list_for_user

from . import ingest, ingest_async, selectors
from .models import JUnitIngestion


class JUnitUploadForm(forms.Form):
    release = forms.TypedChoiceField(coerce=int, label="Release")
    file = forms.FileField(label="JUnit XML report (.xml or .xml.gz)")
    revision = forms.CharField(max_length=100, required=False, help_text="Commit or build revision.")
    environment = forms.ChoiceField(choices=Environment.choices, initial=Environment.TEST)
    run_name = forms.CharField(max_length=200, required=False, label="Run name")

    def __init__(self, *args, releases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["release"].choices = [(r.pk, f"{r.project.key} {r.version}") for r in releases]


def uploadable_releases(user, *, release: Release | None = None) -> list[Release]:
    """The releases the user may upload results to (the given one only, when the page is about one)."""
    if release is not None:
        return [release] if can(user, release.project_id, Action.UPLOAD_RESULTS) else []
    qs = release_list_for_user(user=user).order_by("project__key", "-created_at")[:200]
    return [r for r in qs if can(user, r.project_id, Action.UPLOAD_RESULTS)]


@require_http_methods(["GET", "POST"])
def junit_upload(request):
    release_id = parse_id(request.POST.get("release") or request.GET.get("release"))
    release = release_get_for_user(user=request.user, release_id=release_id) if release_id else None
    releases = uploadable_releases(request.user, release=release)
    if not releases:
        raise PermissionDenied("Uploading test results needs the QA, manager, release manager or admin role.")
    form = JUnitUploadForm(
        request.POST or None,
        request.FILES or None,
        releases=releases,
        initial={"release": release.pk if release else None, "environment": Environment.TEST},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            target = next(r for r in releases if r.pk == form.cleaned_data["release"])
            try:
                outcome = _ingest(request, target, form.cleaned_data)
            except PayloadTooLarge as exc:
                form.add_error("file", str(exc))
                status = 413
            except (UploadRefused, DomainError) as exc:
                field = getattr(exc, "field", None)
                form.add_error(field if field in form.fields else "file", str(exc))
            else:
                if isinstance(outcome, JUnitIngestion):
                    return redirect("testing:junit_ingestion", pk=outcome.pk)
                run = outcome.run
                what = "already ingested as" if outcome.duplicate else "stored as"
                messages.success(
                    request,
                    f"Report {what} run “{run.name}”: {run.tests} tests, {run.passed} passed, {run.failed} "
                    f"failed, {run.errors} errors, {run.skipped} skipped, {run.flaky} flaky.",
                )
                return redirect("testing:run_detail", pk=run.pk)
    context = {"form": form, "release": release}
    return render(request, "testing/junit_upload.html", context, status=status)


def _ingest(request, release: Release, data: dict):
    upload = upload_from_file(data["file"], limit=settings.QUALITYGOV_JUNIT_MAX_BYTES)
    try:
        if upload.size == 0:
            raise UploadRefused("The report is empty.", line=1, column=1, code="empty")
        service = (
            ingest_async.junit_enqueue
            if upload.size > settings.QUALITYGOV_JUNIT_ASYNC_BYTES
            else ingest.junit_ingest
        )
        return service(
            release=release,
            upload=upload,
            by=request.user,
            revision=data.get("revision") or "",
            environment=data.get("environment") or Environment.TEST,
            run_name=data.get("run_name") or "",
        )
    finally:
        upload.close()


@require_GET
def junit_ingestion(request, pk: int, fragment: bool = False):
    """A large upload's page: queued or running (polling its status fragment), then done with a link to the run."""
    ingestion = selectors.ingestion_get_for_user(user=request.user, pk=pk)
    template = "testing/_junit_ingestion_status.html" if fragment else "testing/junit_ingestion.html"
    return render(request, template, {"ingestion": ingestion})
