"""Helpers every page shares: how a refusal from a service shows on the page that caused it.

- 404: pages look objects up through the `*_get_for_user` selectors, which raise Http404 outside the user's
  projects (see docs/architecture.md, "Access and not found").
- 403: a service's `AccessDenied` is also Django's `PermissionDenied`, so a page that lets it propagate answers
  Django's 403 page with its message; no view converts it.
- Any other refusal (`DomainError`): next to the form field it names (`form_error`, `refusal_on_form`) or as an
  error message on the page the view shows next (`refusal_as_message`). A form page whose refusals (a 403 too)
  all belong on the form, each answered with its own status, uses `any_refusal_on_form`.
- htmx: `request.htmx` (django-htmx's middleware) tells a fragment request from a whole-page one.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from qualitygov.errors import AccessDenied, DomainError


def form_errors_text(form) -> str:
    """A bound form's errors in one line ("field: message; message"), for an answer that has no form to show."""
    return "; ".join(f"{'' if f == '__all__' else f + ': '}{' '.join(e)}" for f, e in form.errors.items())


def form_error(form, exc: DomainError) -> None:
    """Show a service's refusal next to the field it names, or above the form when it names none."""
    form.add_error(exc.field if exc.field and exc.field in form.fields else None, exc.message)


@contextmanager
def refusal_on_form(form):
    """Run a service call; a refusal other than a 403 goes onto the form (the view then shows it again)."""
    try:
        yield
    except AccessDenied:
        raise
    except DomainError as exc:
        form_error(form, exc)


@contextmanager
def any_refusal_on_form(form):
    """Run a service call; any refusal, a 403 too, goes onto the form, and `render_form` then answers with the
    refusal's own status (403, 409, 413, ...) instead of 400."""
    try:
        yield
    except DomainError as exc:
        form_error(form, exc)
        form.refusal_status = exc.status_code


@contextmanager
def refusal_as_message(request):
    """Run a service call; a refusal other than a 403 becomes an error message and the view carries on."""
    try:
        yield
    except AccessDenied:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)


def may_change(request, allowed: bool, refusal: str) -> bool:
    """A page every member reads but only some may change: a POST from anyone else is refused with 403 and
    `refusal`. Returns `allowed`, for the template to show or hide the forms."""
    if request.method == "POST" and not allowed:
        raise PermissionDenied(refusal)
    return allowed


def render_form(request, template: str, context: dict, *, form=None):
    """A form page: 400 when the form (`form`, else `context["form"]`) has errors, shown with what was typed (the
    refusal's status after `any_refusal_on_form`)."""
    form = form if form is not None else context["form"]
    return render(
        request, template, context, status=getattr(form, "refusal_status", 400) if form.errors else 200
    )
