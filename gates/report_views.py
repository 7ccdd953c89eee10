"""Report pages for gates: a release's readiness report (HTML and PDF) and a project's audit log (page and CSV).

The PDF is drawn by xhtml2pdf from its own print template; when it cannot be drawn the HTML report is shown
with an error and status 503, so the user still has something to print.
"""

import datetime as dt
import io

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from qualitygov.csv_export import attachment, csv_response
from qualitygov.services import parse_id
from releases.models import Membership, Project, Release
from releases.selectors import project_get_for_user

from . import selectors
from .views import _release

AUDIT_ACTIONS = [
    ("", "All actions"),
    ("gate.", "Gate changes"),
    ("evaluation.", "Evaluations"),
    ("signoff.", "Sign-offs"),
    ("decision.", "Decisions"),
    ("waiver.", "Waivers"),
]


def _readiness_context(request, release: Release) -> dict:
    return {
        **selectors.readiness_report(release=release),
        "release": release,
        "generated_at": timezone.now(),
        "generated_by": request.user,
    }


@require_GET
def readiness(request, pk: int):
    release = _release(pk, request.user)
    return render(request, "gates/readiness.html", _readiness_context(request, release))


def render_pdf(html: str) -> bytes | None:
    """The PDF xhtml2pdf draws from the HTML, or None when it reports an error."""
    # Imported on first use: xhtml2pdf (with reportlab and pypdf) takes seconds to import, and every process that
    # loads the URLconf (web workers, Celery workers, each test worker) would pay for it without drawing a PDF.
    from xhtml2pdf import pisa

    out = io.BytesIO()
    result = pisa.CreatePDF(src=html, dest=out, encoding="utf-8")
    return None if result.err else out.getvalue()


@require_GET
def readiness_pdf(request, pk: int):
    """The readiness report as PDF; when it cannot be drawn, the HTML report with the error (503)."""
    release = _release(pk, request.user)
    context = _readiness_context(request, release)
    pdf = render_pdf(render_to_string("gates/readiness_pdf.html", context, request=request))
    if pdf is None:
        messages.error(request, "The PDF could not be drawn just now; print this page instead, or try again.")
        return render(request, "gates/readiness.html", context, status=503)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = attachment(f"readiness-{release.project.key}-{release.version}.pdf")
    return response


def _audit_csv(project: Project, events):
    rows = (
        [
            e.at.isoformat(),
            e.action,
            e.actor.get_username() if e.actor_id else "",
            e.release.version if e.release_id else "",
            e.summary,
        ]
        for e in events.iterator(chunk_size=1000)
    )
    return csv_response(
        filename=f"audit-{project.key}.csv",
        header=["at (UTC)", "action", "actor", "release", "summary"],
        rows=rows,
    )


@require_GET
def audit_log(request, key: str):
    project = project_get_for_user(user=request.user, key=key)
    p = request.GET

    def _date(name):
        try:
            return dt.date.fromisoformat(p.get(name, "")) if p.get(name) else None
        except ValueError:
            messages.error(request, f"'{p.get(name)}' is not a date (YYYY-MM-DD); the filter was ignored.")
            return None

    events = selectors.audit_events(
        project=project,
        action=p.get("action", ""),
        actor=p.get("actor", "").strip(),
        release_id=parse_id(p.get("release")),
        since=_date("since"),
        until=_date("until"),
        q=p.get("q", "").strip(),
    )
    if p.get("format") == "csv":
        return _audit_csv(project, events)
    query = p.copy()
    query.pop("page", None)
    return render(
        request,
        "gates/audit.html",
        {
            "project": project,
            "page": Paginator(events, 100).get_page(p.get("page")),
            "actions": AUDIT_ACTIONS,
            "filters": p,
            "query": query.urlencode(),
            "releases": Release.objects.filter(project=project).order_by("-created_at"),
            "actors": Membership.objects.filter(project=project)
            .select_related("user")
            .order_by("user__username"),
        },
    )
