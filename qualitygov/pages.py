"""Helpers every page shares: how a refusal from a service shows on the form that caused it."""

from __future__ import annotations

from qualitygov.errors import DomainError


def form_error(form, exc: DomainError) -> None:
    """Show a service's refusal next to the field it names, or above the form when it names none."""
    form.add_error(exc.field if exc.field and exc.field in form.fields else None, exc.message)
