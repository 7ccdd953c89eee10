"""Requirement scope and test-case links, with their history.

Every change of a release's scope (which requirements it holds) or of a test case's links to requirements goes
through here: the link rows change and, in the same transaction, one append-only history row per pair that really
changed is written (``RequirementScopeChange`` / ``TestCaseLinkChange``). Metrics as of T replay the scope and the
links from that history (``testing.asof``), so a change made today never moves a figure as of yesterday.

Pairs are (requirement id, release id) for scope and (test case id, requirement id) for links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from ..models import Requirement, RequirementScopeChange, TestCase, TestCaseLinkChange

Pair = tuple[int, int]
BATCH = 2000


@dataclass(frozen=True)
class _Relation:
    through: type[Model]
    columns: tuple[str, str]  # the link table's two columns
    history: type[Model]
    fields: tuple[str, str]  # the history table's two columns, in the same order


SCOPE = _Relation(
    Requirement.releases.through,
    ("requirement_id", "release_id"),
    RequirementScopeChange,
    ("requirement_id", "release_id"),
)
LINKS = _Relation(
    TestCase.requirements.through,
    ("testcase_id", "requirement_id"),
    TestCaseLinkChange,
    ("test_case_id", "requirement_id"),
)


def _change(relation: _Relation, *, add: Iterable[Pair], remove: Iterable[Pair], at, by) -> tuple[set, set]:
    add = {(int(a), int(b)) for a, b in add}
    remove = {(int(a), int(b)) for a, b in remove} - add
    touched = add | remove
    if not touched:
        return set(), set()
    left, right = relation.columns
    present = set(
        relation.through.objects.filter(
            **{f"{left}__in": {a for a, _ in touched}, f"{right}__in": {b for _, b in touched}}
        ).values_list(left, right)
    )
    added, removed = add - present, remove & present
    if added:
        relation.through.objects.bulk_create(
            [relation.through(**{left: a, right: b}) for a, b in sorted(added)], batch_size=BATCH
        )
    if removed:
        relation.through.objects.filter(
            reduce(or_, (Q(**{left: a, right: b}) for a, b in sorted(removed)))
        ).delete()
    when = at or timezone.now()
    by_id = getattr(by, "pk", None)
    first, second = relation.fields
    relation.history.objects.bulk_create(
        [
            relation.history(**{first: a, second: b}, added=flag, at=when, by_id=by_id)
            for flag, pairs in ((True, added), (False, removed))
            for a, b in sorted(pairs)
        ],
        batch_size=BATCH,
    )
    return added, removed


def scope_change(
    *, add: Iterable[Pair] = (), remove: Iterable[Pair] = (), at: dt.datetime | None = None, by=None
) -> tuple[set[Pair], set[Pair]]:
    """Put (requirement, release) pairs into scope and take others out, recording each real change at `at`
    (default now). Pairs already in the asked state change nothing. Returns (added, removed)."""
    with transaction.atomic():
        return _change(SCOPE, add=add, remove=remove, at=at, by=by)


def links_change(
    *, add: Iterable[Pair] = (), remove: Iterable[Pair] = (), at: dt.datetime | None = None, by=None
) -> tuple[set[Pair], set[Pair]]:
    """Link (test case, requirement) pairs and unlink others, recording each real change at `at` (default now).
    Returns (added, removed)."""
    with transaction.atomic():
        return _change(LINKS, add=add, remove=remove, at=at, by=by)


def _set_of(relation: _Relation, *, owner: int, wanted: Iterable[int], by) -> set[int]:
    """Make the other ends linked to `owner` (the pair's first column) exactly `wanted`; the ends that changed."""
    wanted = {int(i) for i in wanted}
    left, right = relation.columns
    before = set(relation.through.objects.filter(**{left: owner}).values_list(right, flat=True))
    with transaction.atomic():
        added, removed = _change(
            relation,
            add=[(owner, i) for i in wanted - before],
            remove=[(owner, i) for i in before - wanted],
            at=None,
            by=by,
        )
    return {i for _, i in added | removed}


def requirement_scope_set(*, requirement: Requirement, release_ids: Iterable[int], by=None) -> set[int]:
    """Make the requirement's release scope exactly `release_ids`. Returns the ids of the releases that changed."""
    return _set_of(SCOPE, owner=requirement.pk, wanted=release_ids, by=by)


def testcase_links_set(*, test_case: TestCase, requirement_ids: Iterable[int], by=None) -> set[int]:
    """Make the test case's requirement links exactly `requirement_ids`. Returns the requirements that changed."""
    return _set_of(LINKS, owner=test_case.pk, wanted=requirement_ids, by=by)
