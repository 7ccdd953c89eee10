"""Pages for defects: triage board with bulk actions, detail with timeline, create form, Jira import.

htmx requests (header HX-Request) get the fragment they swap in; plain form posts get a redirect, so every
page also works without JavaScript. A refused action answers 400/403/409 with the message in the fragment.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.exceptions import ValidationError as DRFValidationError

from qualitygov.errors import DomainError
from qualitygov.pages import form_error
from qualitygov.services import parse_id
from releases.access import Action, can, can_anywhere, require
from releases.models import Release
from releases.selectors import (
    newest_version_first,
    project_get_for_action,
    project_get_for_user,
    project_list_for_user,
)

from . import selectors, services
from .apis import BulkInputSerializer
from .forms import UNASSIGN, BulkApplyForm, CommentForm, DefectCreateForm, EditForm, JiraImportForm, MoveForm
from .jira_import import import_jira_csv, timezone_named
from .models import OPEN_STATUSES, DefectStatus, Environment, Priority, Resolution, Severity
from .references import bulk_run, bulk_run_steps, defect_for

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
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _status_of(exc: DomainError) -> int:
    return exc.status_code


# --- triage board -----------------------------------------------------------------------------------


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
                raise DomainError(_form_error(form), field="action")
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
        error, status = exc.message, _status_of(exc)
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


# --- detail -----------------------------------------------------------------------------------------


def _members(project_id: int):
    return list(
        get_user_model()
        .objects.filter(memberships__project_id=project_id)
        .order_by("username")
        .only("id", "username")
    )


def _releases(project_id: int):
    return list(
        Release.objects.filter(project_id=project_id).order_by(*newest_version_first()).only("id", "version")
    )


def _detail_context(request, defect, *, typed: dict | None = None, **extra) -> dict:
    """The detail page's context. `typed` holds what a refused action sent ({"move"|"edit"|"comment": data}):
    its form comes back with those values over the defect's current ones, so nothing typed is lost."""
    typed = typed or {}
    can_edit = can(request.user, defect.project_id, Action.EDIT_DEFECTS)
    members = _members(defect.project_id) if can_edit else []
    move_form = MoveForm(initial={**typed.get("move", {}), "expected_version": defect.version})
    move_form.fields["to"].choices = [(s, DefectStatus(s).label) for s in defect.allowed_next_statuses]
    edit_form = EditForm(
        initial={
            "severity": defect.severity,
            "priority": defect.priority,
            "assignee": defect.assignee_id,
            "component": defect.component,
            "fixed_in_release": defect.fixed_in_release_id,
            **typed.get("edit", {}),
            "expected_version": defect.version,
        },
        members=members,
        releases=_releases(defect.project_id) if can_edit else [],
    )
    failing = [r for r in defect.test_results.all() if r.status != "passed"]
    return {
        "defect": defect,
        "timeline": selectors.defect_timeline(defect=defect, labels=True),
        "can_edit": can_edit,
        "move_form": move_form,
        "edit_form": edit_form,
        "comment_form": CommentForm(initial=typed.get("comment", {})),
        "allowed_next_labels": [DefectStatus(s).label for s in defect.allowed_next_statuses],
        "failing_results": failing,
        "other_results": [r for r in defect.test_results.all() if r.status == "passed"],
        **extra,
    }


def _typed(request, *names: str) -> dict:
    return {name: request.POST.get(name, "") for name in names if name in request.POST}


def _reload(request, key: str):
    return selectors.defect_get_for_user(user=request.user, key=key)


def detail(request, key: str):
    defect = selectors.defect_get_for_user(user=request.user, key=key)
    return render(request, "defects/detail.html", _detail_context(request, defect))


def _after_action(request, key: str, *, error: str = "", status: int = 200, notice: str = "", typed=None):
    """Answer a detail-page action: the refreshed main panel (htmx) or the page (plain post).

    A refusal shows its message with the refused form still holding what was typed (`typed`); a success
    shows fresh forms (htmx) or redirects back (plain post).
    """
    if not request.htmx and not error:
        if notice:
            messages.success(request, notice)
        return redirect("defects:detail", key=key)
    defect = _reload(request, key)
    context = _detail_context(request, defect, typed=typed, action_error=error, notice=notice)
    template = "defects/_detail_main.html" if request.htmx else "defects/detail.html"
    return render(request, template, context, status=status)


@require_POST
def move(request, key: str):
    defect = defect_for(request, key)
    form = MoveForm(request.POST)
    form.fields["to"].choices = DefectStatus.choices
    typed = {"move": _typed(request, "to", "resolution", "comment")}
    if not form.is_valid():
        return _after_action(request, defect.key, error=_form_error(form), status=400, typed=typed)
    try:
        require(request.user, defect.project_id, Action.EDIT_DEFECTS)
        v = form.cleaned_data
        services.defect_transition(
            defect=defect,
            to=v["to"],
            by=request.user,
            resolution=v["resolution"],
            comment=v["comment"],
            expected_version=v["expected_version"],
        )
    except DomainError as exc:
        return _after_action(request, defect.key, error=exc.message, status=_status_of(exc), typed=typed)
    return _after_action(request, defect.key, notice=f"Moved to {DefectStatus(v['to']).label}.")


@require_POST
def comment(request, key: str):
    defect = defect_for(request, key)
    form = CommentForm(request.POST)
    typed = {"comment": _typed(request, "body")}
    if not form.is_valid():
        return _after_action(request, defect.key, error=_form_error(form), status=400, typed=typed)
    try:
        require(request.user, defect.project_id, Action.EDIT_DEFECTS)
        services.defect_comment_add(defect=defect, by=request.user, body=form.cleaned_data["body"])
    except DomainError as exc:
        return _after_action(request, defect.key, error=exc.message, status=_status_of(exc), typed=typed)
    return _after_action(request, defect.key, notice="Comment added.")


@require_POST
def edit(request, key: str):
    defect = defect_for(request, key)
    releases = _releases(defect.project_id)
    form = EditForm(request.POST, members=_members(defect.project_id), releases=releases)
    typed = {"edit": _typed(request, "severity", "priority", "assignee", "component", "fixed_in_release")}
    if not form.is_valid():
        return _after_action(request, defect.key, error=_form_error(form), status=400, typed=typed)
    v = dict(form.cleaned_data)
    expected = v.pop("expected_version")
    assignee_id = v.pop("assignee")
    v["assignee"] = next((u for u in _members(defect.project_id) if u.pk == assignee_id), None)
    fix_id = v.pop("fixed_in_release")
    v["fixed_in_release"] = next((r for r in releases if r.pk == fix_id), None)
    try:
        require(request.user, defect.project_id, Action.EDIT_DEFECTS)
        services.defect_update(defect=defect, by=request.user, data=v, expected_version=expected)
    except DomainError as exc:
        return _after_action(request, defect.key, error=exc.message, status=_status_of(exc), typed=typed)
    return _after_action(request, defect.key, notice="Saved.")


@require_POST
def mark_duplicate(request, key: str):
    defect = defect_for(request, key)
    original_key = (request.POST.get("original") or "").strip()
    try:
        if not original_key:
            raise DomainError("Give the key of the original defect.", field="original")
        original = defect_for(request, original_key)
        require(request.user, defect.project_id, Action.EDIT_DEFECTS)
        services.defect_mark_duplicate(defect=defect, original=original, by=request.user)
    except DomainError as exc:
        return _after_action(request, defect.key, error=exc.message, status=_status_of(exc))
    return _after_action(request, defect.key, notice=f"Marked a duplicate of {original.key}.")


@require_GET
def similar_for_defect(request, key: str):
    """The duplicate candidates of a defect (fragment, loaded lazily by the detail page)."""
    defect = defect_for(request, key)
    found = selectors.defect_similar_to(defect=defect, limit=5)
    context = {
        "similar": found,
        "defect": defect,
        "can_mark": can(request.user, defect.project_id, Action.EDIT_DEFECTS) and defect.is_open,
    }
    return render(request, "defects/_similar.html", context)


def _form_error(form) -> str:
    return "; ".join(f"{'' if f == '__all__' else f + ': '}{' '.join(e)}" for f, e in form.errors.items())


# --- create -----------------------------------------------------------------------------------------


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
    status = 200
    if request.method == "POST":
        if form.is_valid():
            v = form.cleaned_data
            try:
                project = project_get_for_action(
                    user=request.user, key=v["project"], action=Action.EDIT_DEFECTS
                )
                release = next((r for r in releases if r.pk == v["found_in_release"]), None)
                fix_release = next((r for r in releases if r.pk == v["fixed_in_release"]), None)
                assignee = next((u for u in members if u.pk == v["assignee"]), None)
                defect = services.defect_create(
                    project=project,
                    title=v["title"],
                    by=request.user,
                    description=v["description"],
                    severity=v["severity"],
                    priority=v["priority"],
                    component=v["component"],
                    found_in_release=release,
                    found_in_environment=v["found_in_environment"],
                    assignee=assignee,
                    fixed_in_release=fix_release,
                )
            except DomainError as exc:
                form_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, f"{defect.key} created.")
                return redirect("defects:detail", key=defect.key)
        else:
            status = 400
    return render(request, "defects/create.html", {"form": form, "no_projects": not projects}, status=status)


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


# --- Jira import ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def import_jira(request):
    """Upload a Jira CSV export into a project (managers and admins): dry run, skipped-row report."""
    projects = [p for p in project_list_for_user(user=request.user) if can(request.user, p, Action.IMPORT)]
    form = JiraImportForm(request.POST or None, request.FILES or None, projects=projects)
    report, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
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
            except DomainError as exc:
                form_error(form, exc)
                status = exc.status_code
        else:
            status = 400
    context = {
        "form": form,
        "report": report,
        "no_projects": not projects,
        "project_key": form.data.get("project", "") if form.is_bound else "",
    }
    if request.htmx:
        return render(request, "defects/_import_result.html", context, status=status)
    return render(request, "defects/import.html", context, status=status)
