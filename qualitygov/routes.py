"""The standard pages of a kind of object, routed and named the same way in every app (what DRF's router does for
the API): `<prefix>/` lists them (`<noun>_list`), `<prefix>/new/` creates one (`<noun>_create`), `<prefix>/<pk>/`
shows one (`<noun>_detail`) and `<prefix>/<pk>/edit/` edits it (`<noun>_edit`). A kind without one of these pages
leaves it out; its other pages are plain `path()`s next to the call.
"""

from __future__ import annotations

from collections.abc import Callable

from django.urls import URLPattern, path


def object_pages(
    prefix: str,
    noun: str,
    *,
    listing: Callable | None = None,
    create: Callable | None = None,
    detail: Callable | None = None,
    edit: Callable | None = None,
) -> list[URLPattern]:
    """The routes of the given standard pages of `noun` objects below `prefix/` (see the module docstring)."""
    pages = (
        ("", listing, "list"),
        ("new/", create, "create"),
        ("<int:pk>/", detail, "detail"),
        ("<int:pk>/edit/", edit, "edit"),
    )
    return [path(f"{prefix}/{route}", view, name=f"{noun}_{page}") for route, view, page in pages if view]
