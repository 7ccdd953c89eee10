"""Hooks: how an app tells the layers above it that something happened, without importing them.

The apps import in one direction (docs/architecture.md, "Layers"). When a lower app must set off work that an
upper app owns, it calls a hook here and the upper app registers its handler when Django has loaded it
(`AppConfig.ready`):

* `evidence_changed(release_ids=..., project_ids=...)`: evidence apps (releases, defects, testing, incidents,
  measures) call it inside the transaction that changed the evidence; metrics registers its recompute
  scheduler (a rolled-back change asks for nothing, as the scheduler writes in the same transaction);
* `project_created(project=..., by=...)`: releases calls it inside the transaction that creates a project;
  gates registers the default gates.

A hook with no handler does nothing (an app that is not installed is simply not told).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

EvidenceHandler = Callable[..., None]
ProjectHandler = Callable[..., None]

_evidence_handlers: list[EvidenceHandler] = []
_project_handlers: list[ProjectHandler] = []


def _register(handlers: list, handler: Callable) -> Callable:
    # Registration is idempotent: `ready()` may run more than once (tests, management commands).
    key = (handler.__module__, handler.__qualname__)
    if key not in {(h.__module__, h.__qualname__) for h in handlers}:
        handlers.append(handler)
    return handler


def on_evidence_changed(handler: EvidenceHandler) -> EvidenceHandler:
    """Register `handler(**scopes)` (`release_ids`, `project_ids`); called for every `evidence_changed`."""
    return _register(_evidence_handlers, handler)


def on_project_created(handler: ProjectHandler) -> ProjectHandler:
    """Register `handler(*, project, by)`; called for every `project_created`."""
    return _register(_project_handlers, handler)


def evidence_changed(**scopes: Iterable[int | None]) -> None:
    """Evidence of these releases / projects changed: `release_ids=...` and/or `project_ids=...`, handed to every
    handler as given (the recompute scheduler drops empty ids and does nothing for empty scopes)."""
    unknown = set(scopes) - {"release_ids", "project_ids"}
    if unknown:
        raise TypeError(
            f"evidence_changed() takes release_ids and project_ids, not {', '.join(sorted(unknown))}"
        )
    for handler in _evidence_handlers:
        handler(**scopes)


def project_created(*, project: Any, by: Any) -> None:
    """A project was just created by `by` (None for a system caller such as the demo seeding)."""
    for handler in _project_handlers:
        handler(project=project, by=by)
