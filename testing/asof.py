"""Requirement scope and test-case links as they were at T, replayed in SQL from their append-only history.

A (requirement, release) pair is in scope at T when its latest scope change at or before T (greatest `at`, ties
greatest id) added it; a (test case, requirement) pair is linked at T likewise. Both are one NOT EXISTS over the
history table, usable as subqueries inside a metric's aggregate query (never a Python loop over rows).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Requirement, RequirementScopeChange, TestCaseLinkChange


def _standing(history: QuerySet, pair: tuple[str, str], as_of: dt.datetime) -> QuerySet:
    """The history rows that are the latest change of their pair at T and that added the pair."""
    later = history.model.objects.filter(**{name: OuterRef(name) for name in pair}, at__lte=as_of).filter(
        Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk"))
    )
    return history.filter(at__lte=as_of, added=True).exclude(Exists(later))


def scope_rows_as_of(release, as_of: dt.datetime) -> QuerySet[RequirementScopeChange]:
    """The scope changes that hold R's scope at T (one row per requirement in scope)."""
    return _standing(
        RequirementScopeChange.objects.filter(release=release), ("requirement_id", "release_id"), as_of
    )


def scope_as_of(release, as_of: dt.datetime) -> QuerySet[Requirement]:
    """The requirements in R's scope at T."""
    return Requirement.objects.filter(pk__in=scope_rows_as_of(release, as_of).values("requirement_id"))


def links_as_of(as_of: dt.datetime) -> QuerySet[TestCaseLinkChange]:
    """The test case <-> requirement links that existed at T (rows with test_case_id and requirement_id);
    filter them by requirement or test case (``OuterRef`` works)."""
    return _standing(TestCaseLinkChange.objects.all(), ("test_case_id", "requirement_id"), as_of)


def linked_as_of(as_of: dt.datetime, requirement_ref: str = "pk") -> Exists:
    """An expression over a requirement (``OuterRef(requirement_ref)``): at least one test case linked at T."""
    return Exists(links_as_of(as_of).filter(requirement_id=OuterRef(requirement_ref)))
