"""Bulk actions on defects: one action over many rows in one transaction, with a per-row report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction

from qualitygov.errors import DomainError
from releases.access import Action, can

from .. import notices
from ..models import (
    Defect,
    DefectStatus,
    Priority,
    Severity,
)
from .common import MAX_BULK_ROWS, check_choice, coalesced_recompute
from .edits import defect_update
from .lifecycle import defect_mark_duplicate, defect_transition


class BulkAction:
    ASSIGN = "assign"
    SET_SEVERITY = "set_severity"
    SET_PRIORITY = "set_priority"
    MOVE = "move"
    MARK_DUPLICATE = "mark_duplicate"
    ADD_TO_RELEASE = "add_to_release"
    ALL = (ASSIGN, SET_SEVERITY, SET_PRIORITY, MOVE, MARK_DUPLICATE, ADD_TO_RELEASE)


@dataclass
class BulkReport:
    """What a bulk action did: the keys it changed, and each refused row with its reason."""

    action: str
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        report = asdict(self)
        return {**report, "counts": {name: len(report[name]) for name in ("changed", "unchanged", "refused")}}


def _bulk_one(*, defect: Defect, action: str, by, params: dict[str, Any]) -> bool:
    """Apply one bulk action to one defect; True when something changed."""
    if action == BulkAction.ASSIGN:
        before = defect.version
        return (
            defect_update(defect=defect, by=by, data={"assignee": params.get("assignee")}).version != before
        )
    if action == BulkAction.SET_SEVERITY:
        before = defect.version
        return defect_update(defect=defect, by=by, data={"severity": params["severity"]}).version != before
    if action == BulkAction.SET_PRIORITY:
        before = defect.version
        return defect_update(defect=defect, by=by, data={"priority": params["priority"]}).version != before
    if action == BulkAction.ADD_TO_RELEASE:
        before = defect.version
        updated = defect_update(defect=defect, by=by, data={"found_in_release": params["release"]})
        return updated.version != before
    if action == BulkAction.MOVE:
        defect_transition(
            defect=defect,
            to=params["to"],
            by=by,
            resolution=params.get("resolution", ""),
            comment=params.get("comment", ""),
        )
        return True
    if action == BulkAction.MARK_DUPLICATE:
        defect_mark_duplicate(
            defect=defect, original=params["original"], by=by, comment=params.get("comment", "")
        )
        return True
    raise DomainError(
        f"Unknown bulk action '{action}'. Actions: {', '.join(BulkAction.ALL)}.", field="action"
    )


def _check_bulk_params(action: str, params: dict[str, Any]) -> None:
    required = {
        BulkAction.SET_SEVERITY: "severity",
        BulkAction.SET_PRIORITY: "priority",
        BulkAction.MOVE: "to",
        BulkAction.MARK_DUPLICATE: "original",
        BulkAction.ADD_TO_RELEASE: "release",
    }
    if action not in BulkAction.ALL:
        raise DomainError(
            f"Unknown bulk action '{action}'. Actions: {', '.join(BulkAction.ALL)}.", field="action"
        )
    name = required.get(action)
    if name and params.get(name) in (None, ""):
        raise DomainError(f"The bulk action '{action}' needs '{name}'.", field=name)
    if action == BulkAction.ASSIGN and "assignee" not in params:
        raise DomainError("The bulk action 'assign' needs 'assignee' (empty to unassign).", field="assignee")
    if action == BulkAction.SET_SEVERITY:
        check_choice(params["severity"], Severity, field="severity")
    if action == BulkAction.SET_PRIORITY:
        check_choice(params["priority"], Priority, field="priority")
    if action == BulkAction.MOVE:
        check_choice(params["to"], DefectStatus, field="to")


def defect_bulk_action(*, defect_ids: Iterable[int], action: str, by, params: dict[str, Any]) -> BulkReport:
    """Apply one action to many defects in one transaction, with a per-row report (see defect_bulk_apply)."""
    return defect_bulk_apply(defect_ids=defect_ids, steps=[(action, params)], by=by)


def defect_bulk_apply(
    *, defect_ids: Iterable[int], steps: list[tuple[str, dict[str, Any]]], by
) -> BulkReport:
    """Apply one or several actions (assign, severity, priority, move, ...) to many defects in one transaction.

    Each row runs in its own savepoint with every step in the order given: a row any step refuses (illegal
    move, no permission, bad reference) is rolled back alone and reported with its reason; the other rows are
    kept. Bad parameters for the whole request (unknown action, invalid severity, ...) refuse it before any
    row is touched. Rows are locked in id order so two bulk actions cannot deadlock. The metric recompute is
    scheduled once at the end, for the union of the touched releases and projects.
    """
    ids = sorted({int(i) for i in defect_ids})
    if not ids:
        raise DomainError("Select at least one defect.", field="ids")
    if len(ids) > MAX_BULK_ROWS:
        raise DomainError(f"A bulk action is limited to {MAX_BULK_ROWS} defects.", field="ids")
    if not steps:
        raise DomainError("Choose at least one change to apply.", field="action")
    for action, params in steps:
        _check_bulk_params(action, params)
    report = BulkReport(action="+".join(action for action, _ in steps))
    with coalesced_recompute(), transaction.atomic(), notices.batched():
        defects = list(
            Defect.objects.select_for_update().filter(pk__in=ids).select_related("project").order_by("pk")
        )
        found = {d.pk for d in defects}
        for missing in sorted(set(ids) - found):
            report.refused.append({"id": str(missing), "key": "", "reason": "No such defect."})
        for defect in defects:
            if not can(by, defect.project_id, Action.EDIT_DEFECTS):
                report.refused.append(
                    {
                        "id": str(defect.pk),
                        "key": defect.key,
                        "reason": f"Your role does not allow editing defects in {defect.project.key}.",
                    }
                )
                continue
            try:
                with transaction.atomic():
                    changed = False
                    for action, params in steps:
                        changed = _bulk_one(defect=defect, action=action, by=by, params=params) or changed
                        defect.refresh_from_db()
            except DomainError as exc:
                report.refused.append({"id": str(defect.pk), "key": defect.key, "reason": exc.message})
                continue
            (report.changed if changed else report.unchanged).append(defect.key)
    return report
