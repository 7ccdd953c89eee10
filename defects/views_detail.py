"""The defect detail page and the actions posted from it (move, comment, edit, mark a duplicate), plus its lazily
loaded duplicate candidates.

An action answers an htmx request with the refreshed main panel and a plain post with a redirect back to the page.
A refused action (400/403/409) shows its message, and the form it came from keeps what was typed.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from qualitygov.errors import DomainError
from qualitygov.pages import form_errors_text
from releases.access import Action, can, require
from releases.models import Release
from releases.selectors import newest_version_first

from . import selectors, services
from .forms import CommentForm, EditForm, MoveForm
from .models import DefectStatus
from .references import chosen, defect_for


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
            **model_to_dict(
                defect, fields=("severity", "priority", "assignee", "component", "fixed_in_release")
            ),
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
    defect = selectors.defect_get_for_user(user=request.user, key=key)
    context = _detail_context(request, defect, typed=typed, action_error=error, notice=notice)
    template = "defects/_detail_main.html" if request.htmx else "defects/detail.html"
    return render(request, template, context, status=status)


def _detail_action(form_name: str | None = None, typed_fields: tuple[str, ...] = ()):
    """A POST from the detail page acting on one defect (404 outside the user's projects).

    The decorated function does the work and returns the notice to show on success. A refusal it raises
    (`DomainError`, the 403 of `AccessDenied` included) is shown with its status, and the posted `typed_fields`
    come back in the form `form_name` (see `_detail_context`).
    """

    def decorate(act):
        @require_POST
        @wraps(act)
        def view(request, key: str):
            defect = defect_for(request, key)
            typed = None
            if form_name:
                typed = {form_name: {n: request.POST.get(n, "") for n in typed_fields if n in request.POST}}
            try:
                notice = act(request, defect)
            except DomainError as exc:
                return _after_action(
                    request, defect.key, error=exc.message, status=exc.status_code, typed=typed
                )
            return _after_action(request, defect.key, notice=notice)

        return view

    return decorate


def _valid(form) -> dict:
    """The form's cleaned data; a form with errors is refused (400) with all its errors in one line."""
    if not form.is_valid():
        raise DomainError(form_errors_text(form))
    return form.cleaned_data


@_detail_action("move", ("to", "resolution", "comment"))
def move(request, defect) -> str:
    form = MoveForm(request.POST)
    form.fields["to"].choices = DefectStatus.choices
    v = _valid(form)
    require(request.user, defect.project_id, Action.EDIT_DEFECTS)
    services.defect_transition(defect=defect, by=request.user, **v)
    return f"Moved to {DefectStatus(v['to']).label}."


@_detail_action("comment", ("body",))
def comment(request, defect) -> str:
    v = _valid(CommentForm(request.POST))
    require(request.user, defect.project_id, Action.EDIT_DEFECTS)
    services.defect_comment_add(defect=defect, by=request.user, **v)
    return "Comment added."


@_detail_action("edit", ("severity", "priority", "assignee", "component", "fixed_in_release"))
def edit(request, defect) -> str:
    members, releases = _members(defect.project_id), _releases(defect.project_id)
    v = dict(_valid(EditForm(request.POST, members=members, releases=releases)))
    expected = v.pop("expected_version")
    v["assignee"] = chosen(members, v.pop("assignee"))
    v["fixed_in_release"] = chosen(releases, v.pop("fixed_in_release"))
    require(request.user, defect.project_id, Action.EDIT_DEFECTS)
    services.defect_update(defect=defect, by=request.user, data=v, expected_version=expected)
    return "Saved."


@_detail_action()
def mark_duplicate(request, defect) -> str:
    original_key = (request.POST.get("original") or "").strip()
    if not original_key:
        raise DomainError("Give the key of the original defect.", field="original")
    original = defect_for(request, original_key)
    require(request.user, defect.project_id, Action.EDIT_DEFECTS)
    services.defect_mark_duplicate(defect=defect, original=original, by=request.user)
    return f"Marked a duplicate of {original.key}."


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
