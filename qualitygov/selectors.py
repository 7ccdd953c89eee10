"""Small helpers shared by the apps' selectors."""

from typing import Any

from django.db.models import QuerySet


def filter_given(qs: QuerySet, **lookups: Any) -> QuerySet:
    """`qs` filtered by each lookup whose value is given, one filter() after the other in the order named. A falsy
    value ("", None, 0, False) means "any", as a query parameter left empty does."""
    for lookup, value in lookups.items():
        if value:
            qs = qs.filter(**{lookup: value})
    return qs
