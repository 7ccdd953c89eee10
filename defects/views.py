"""The defect triage board and its bulk actions (the detail page: ``views_detail``; create and Jira import:
``views_create``).

htmx requests (header HX-Request) get the fragment they swap in; plain form posts get a redirect, so every
page also works without JavaScript. A refused action answers 400/403/409 with the message in the fragment.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError as DRFValidationError

from qualitygov.errors import DomainError
from qualitygov.pages import form_errors_text
from qualitygov.services import parse_id
from releases.access import Action, can_anywhere
from releases.models import Release

from . import selectors, services
from .apis import BulkInputSerializer
from .forms import UNASSIGN, BulkApplyForm
from .models import OPEN_STATUSES, DefectStatus, Environment, Priority, Resolution, Severity
from .references import bulk_run, bulk_run_steps

PAGE_SIZE = 50
# The board's quick views: (id, label, the filters they set). Each keeps every other filter of the page
# (project, release, search, ...) and replaces only these.
QUICK_VIEWS = (
    ("quick-open-blockers", "open blockers", {"status": "open", "severity": "blocker"}),
    ("quick-open-blocking", "open blocking", {"status": "open", "severity": "blocker,critical"}),
    ("quick-unassigned", "unassigned open", {"status": "open", "assignee": "none"}),
    ("quick-triage", "to triage", {"status": "new"}),
    ("quick-regressed", "regressed", {"regressed": "1"}),
    ("quick-today", "created today", {"created": "today"}),
    ("quick-week", "created in 7 days", {"created": "7d"}),
)


def _board_context(request, filters: selectors.DefectFilters) -> dict:
    qs = selectors.defect_list(user=request.user, filters=filters)
    paginator = Paginator(qs, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort_params = query.copy()
    sort_params.pop("sort", None)
    sort_query = sort_params.urlencode()
    columns = []
    for label, name in (
        ("Key", "key"),
        ("Title", "title"),
        ("Severity", "severity"),
        ("Priority", "priority"),
        ("Status", "status"),
        ("Assignee", "assignee"),
        ("Created", "created"),
    ):
        current = filters.sort.lstrip("-") == name
        descending = filters.sort.startswith("-")
        next_sort = name if (current and descending) else f"-{name}" if current else name
        columns.append(
            {
                "label": label,
                "url": f"?{sort_query + '&' if sort_query else ''}sort={next_sort}",
                "arrow": ("▼" if descending else "▲") if current else "",
            }
        )
    quick_views = []
    for view_id, label, sets in QUICK_VIEWS:
        params = query.copy()
        for name, value in sets.items():
            params.setlist(name, [value])
        current = all(",".join(query.getlist(name)) == value for name, value in sets.items())
        quick_views.append(
            {"id": view_id, "label": label, "url": f"?{params.urlencode()}", "current": current}
        )
    return {
        "columns": columns,
        "quick_views": quick_views,
        "filters": filters,
        "time_params": [
            (name, request.GET[name])
            for name in ("as_of", *selectors.WINDOW_PARAMS)
            if getattr(filters, name)
        ],
        "window_closures": (
            selectors.closures_in_window(defects=qs, filters=filters) if filters.closed_window else None
        ),
        "page": page,
        "rows": list(page.object_list),
        "query": query.urlencode(),
        "sort_query": sort_query,
        "statuses": DefectStatus.choices,
        "open_statuses": list(OPEN_STATUSES),
        "severities": Severity.choices,
        "priorities": Priority.choices,
        "environments": Environment.choices,
        "resolutions": Resolution.choices,
        "bulk_actions": services.BulkAction.ALL,
        "created_windows": (("today", "today"), ("7d", "last 7 days"), ("30d", "last 30 days")),
        "unassign": UNASSIGN,
        "can_edit_any": can_anywhere(request.user, Action.EDIT_DEFECTS),
        "can_import_any": can_anywhere(request.user, Action.IMPORT),
    }


@require_GET
def board(request):
    """The triage board: filters, sort and page all live in the URL. An unreadable time filter (as_of, a window
    bound) is named in a message and left out (400), never guessed."""
    filters, time_error = selectors.filters_from_params(request.GET)
    status = 400 if time_error else 200
    if time_error:
        messages.error(request, time_error)
    context = _board_context(request, filters)
    if request.htmx and request.htmx.target == "board-results":
        return render(request, "defects/_board_results.html", context, status=status)
    context.update(selectors.board_choices(user=request.user, project_key=filters.project))
    return render(request, "defects/board.html", context, status=status)


@require_POST
def bulk(request):
    """Apply the bulk bar's chosen changes to the selected rows; answer with the refreshed rows and the report.

    The board sends every field of the bar (assignee, severity, priority, move, release, duplicate), each
    "no change" unless chosen, and applies all chosen ones in one go. A post naming one `action` (the API's
    shape) applies that action alone. The selection stays ticked in the answer.
    """
    ids = [i for i in request.POST.getlist("ids") if i]
    report, error, status, summary = None, "", 200, []
    try:
        if request.POST.get("action"):
            data = {k: v for k, v in request.POST.items() if v != "" or k == "assignee"}
            data.pop("csrfmiddlewaretoken", None)
            serializer = BulkInputSerializer(data={**data, "ids": ids})
            serializer.is_valid(raise_exception=True)
            report = bulk_run(request, dict(serializer.validated_data))
        else:
            form = BulkApplyForm(request.POST)
            if not form.is_valid():
                raise DomainError(form_errors_text(form), field="action")
            id_serializer = BulkInputSerializer(data={"ids": ids, "action": "assign"})
            id_serializer.is_valid(raise_exception=True)
            steps = form.steps()
            if not steps:
                raise DomainError("Choose at least one change (assignee, severity, priority, status, ...).")
            report = bulk_run_steps(request, ids=id_serializer.validated_data["ids"], steps=steps)
            summary = form.summary(release_label=_release_label(form.cleaned_data["release"]))
    except DRFValidationError as exc:
        error, status = _flatten(exc.detail), 400
    except DomainError as exc:
        error, status = exc.message, exc.status_code
    filters, _ = selectors.filters_from_params(request.GET)
    context = _board_context(request, filters)
    context.update({"report": report, "bulk_error": error, "summary": summary, "selected_ids": set(ids)})
    if not request.htmx:
        if error:
            messages.error(request, error)
        elif report:
            said = f"Set {', '.join(summary)}: " if summary else ""
            messages.success(
                request,
                f"{said}{len(report.changed)} changed, {len(report.unchanged)} unchanged, "
                f"{len(report.refused)} refused.",
            )
        return redirect(f"{reverse('defects:board')}?{request.GET.urlencode()}")
    return render(request, "defects/_board_results.html", context, status=status)


def _release_label(ref: str) -> str:
    """The version of the release the bulk bar named (an id, resolved as references.release_in does)."""
    pk = parse_id(ref)
    release = Release.objects.filter(pk=pk).only("version").first() if pk is not None else None
    return release.version if release else ref


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(v) for v in detail)
    return str(detail)
