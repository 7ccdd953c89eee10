"""Gate definitions: create (also the three defaults of a new project) and change a gate with its conditions
and checklist items. Every change bumps the revision and writes an audit row with the definition before/after."""

import math
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from metrics.registry import definitions_for
from qualitygov.errors import ConflictError, DomainError
from releases.access import Action, authorize
from releases.models import ChangeClass, Project, Release, ReleaseStatus, Role

from ..defaults import DEFAULT_GATES
from ..models import GUARDABLE_MOVES, ChecklistItem, GateCondition, MissingData, Operator, QualityGate
from ..rules import threshold_problem
from .audit import audit_record

GATE_FIELDS = (
    "name",
    "description",
    "order",
    "is_active",
    "evaluate_on_schedule",
    "from_status",
    "to_status",
)
CONDITION_FIELDS = (
    "metric",
    "operator",
    "error_threshold",
    "warn_threshold",
    "key",
    "missing_data",
    "order",
    "class_thresholds",
)
ITEM_FIELDS = ("text", "role", "order")


def _threshold_pair(raw: Any, *, where: str) -> tuple[float, float | None]:
    """(error, warn) from a dict holding error_threshold and an optional warn_threshold, finite numbers."""
    if not isinstance(raw, dict):
        raise DomainError(f"{where}: give error_threshold and optionally warn_threshold.", field="conditions")
    unknown = set(raw) - {"error_threshold", "warn_threshold"}
    if unknown:
        raise DomainError(
            f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}.", field="conditions"
        )
    try:
        error_threshold = float(raw.get("error_threshold"))
        warn = raw.get("warn_threshold")
        warn_threshold = None if warn in (None, "") else float(warn)
    except (TypeError, ValueError):
        raise DomainError(f"{where}: thresholds must be numbers.", field="conditions") from None
    for value in (error_threshold, warn_threshold):
        if value is not None and not math.isfinite(value):
            raise DomainError(f"{where}: thresholds must be finite numbers.", field="conditions")
    return error_threshold, warn_threshold


def _clean_class_thresholds(raw: Any, *, where: str, operator: str, metric: str) -> dict:
    """{change_class: {error_threshold, warn_threshold}} for the classes given; each pair obeys the same rule
    as the default pair (threshold_problem)."""
    if raw in (None, "", {}):
        return {}
    if not isinstance(raw, dict):
        raise DomainError(
            f"{where}: class_thresholds maps a change class ({', '.join(ChangeClass.values)}) to thresholds.",
            field="conditions",
        )
    out = {}
    for change_class, pair in raw.items():
        if change_class not in ChangeClass.values:
            raise DomainError(
                f"{where}: '{str(change_class)[:20]}' is not a change class; use one of "
                f"{', '.join(ChangeClass.values)}.",
                field="conditions",
            )
        error_threshold, warn_threshold = _threshold_pair(pair, where=f"{where} ({change_class})")
        problem = threshold_problem(
            operator=operator, error_threshold=error_threshold, warn_threshold=warn_threshold
        )
        if problem:
            raise DomainError(f"{where} ({metric}, {change_class}): {problem}", field="conditions")
        out[change_class] = {"error_threshold": error_threshold, "warn_threshold": warn_threshold}
    return {c: out[c] for c in ChangeClass.values if c in out}


def _clean_condition(raw: dict, *, index: int, registry: dict | None) -> dict:
    """Validate one condition's data; returns the cleaned dict or raises DomainError naming the problem.

    ``registry`` None skips the metric-key check (only for the built-in defaults, which use contract keys).
    """
    where = f"Condition {index + 1}"
    metric = str(raw.get("metric") or "").strip()
    if registry is not None and (metric not in registry or getattr(registry[metric], "is_series", False)):
        choices = sorted(k for k, d in registry.items() if not getattr(d, "is_series", False))
        raise DomainError(
            f"{where}: unknown metric '{metric}'. Choose one of: {', '.join(choices)}.", field="conditions"
        )
    operator = raw.get("operator")
    if operator not in Operator.values:
        raise DomainError(
            f"{where}: operator must be one of {', '.join(Operator.values)}, not '{operator}'.",
            field="conditions",
        )
    error_threshold, warn_threshold = _threshold_pair(
        {"error_threshold": raw.get("error_threshold"), "warn_threshold": raw.get("warn_threshold")},
        where=where,
    )
    problem = threshold_problem(
        operator=operator, error_threshold=error_threshold, warn_threshold=warn_threshold
    )
    if problem:
        raise DomainError(f"{where} ({metric}): {problem}", field="conditions")
    missing = raw.get("missing_data") or MissingData.FAIL
    if missing not in MissingData.values:
        raise DomainError(
            f"{where}: missing_data must be one of {', '.join(MissingData.values)}.", field="conditions"
        )
    return {
        "id": raw.get("id"),
        "metric": metric,
        "operator": operator,
        "error_threshold": error_threshold,
        "warn_threshold": warn_threshold,
        "key": bool(raw.get("key", False)),
        "missing_data": missing,
        "order": int(raw.get("order", index) or 0),
        "class_thresholds": _clean_class_thresholds(
            raw.get("class_thresholds"), where=where, operator=operator, metric=metric
        ),
    }


def _clean_item(raw: dict, *, index: int) -> dict:
    text = str(raw.get("text") or "").strip()
    if not text:
        raise DomainError(f"Checklist item {index + 1}: the text is empty.", field="checklist_items")
    if len(text) > 300:
        raise DomainError(
            f"Checklist item {index + 1}: the text is longer than 300 characters.", field="checklist_items"
        )
    role = raw.get("role") or Role.RELEASE_MANAGER
    if role not in Role.values:
        raise DomainError(
            f"Checklist item {index + 1}: role must be one of {', '.join(Role.values)}.",
            field="checklist_items",
        )
    return {"id": raw.get("id"), "text": text, "role": role, "order": int(raw.get("order", index) or 0)}


def _clean_name(name: Any) -> str:
    name = str(name or "").strip()
    if not name:
        raise DomainError("A gate needs a name.", field="name")
    if len(name) > 200:
        raise DomainError("A gate name is at most 200 characters.", field="name")
    return name


def _check_guarded_move(from_status: Any, to_status: Any) -> None:
    """A gate guards one move the release lifecycle allows (releases.models.RELEASE_MOVES)."""
    if (from_status, to_status) not in GUARDABLE_MOVES:
        moves = ", ".join(f"{a}->{b}" for a, b in GUARDABLE_MOVES)
        raise DomainError(
            f"A gate guards a release move; {from_status}->{to_status} is not one. Choose one of: {moves}.",
            field="to_status",
        )


def gate_definition(*, gate: QualityGate) -> dict:
    """The gate as it is now (name, move, revision, conditions, checklist items), as stored in evaluations."""
    return {
        "gate": gate.pk,
        "name": gate.name,
        "from_status": gate.from_status,
        "to_status": gate.to_status,
        "revision": gate.revision,
        "conditions": [
            {"id": c.pk, **{f: getattr(c, f) for f in CONDITION_FIELDS}} for c in gate.conditions.all()
        ],
        "checklist_items": [
            {"id": i.pk, **{f: getattr(i, f) for f in ITEM_FIELDS}} for i in gate.checklist_items.all()
        ],
    }


def _gate_build(
    *,
    project: Project,
    name: str,
    description: str,
    conditions: Iterable[dict],
    checklist_items: Iterable[dict],
    order: int,
    registry: dict | None,
    by,
    summary: str,
    is_active: bool = True,
    evaluate_on_schedule: bool = True,
    from_status: str = ReleaseStatus.READY,
    to_status: str = ReleaseStatus.RELEASED,
) -> QualityGate:
    """Create the gate with its rows and its ``gate.created`` audit row (``registry`` as in _clean_condition)."""
    _check_guarded_move(from_status, to_status)
    cleaned_conditions = [_clean_condition(c, index=i, registry=registry) for i, c in enumerate(conditions)]
    cleaned_items = [_clean_item(c, index=i) for i, c in enumerate(checklist_items)]
    if QualityGate.objects.filter(project=project, name=name).exists():
        raise ConflictError(f"Project {project.key} already has a gate named '{name}'.", field="name")
    gate = QualityGate.objects.create(
        project=project,
        name=name,
        description=description or "",
        order=order,
        is_active=is_active,
        evaluate_on_schedule=evaluate_on_schedule,
        from_status=from_status,
        to_status=to_status,
    )
    GateCondition.objects.bulk_create(
        [GateCondition(gate=gate, **{k: v for k, v in c.items() if k != "id"}) for c in cleaned_conditions]
    )
    ChecklistItem.objects.bulk_create(
        [ChecklistItem(gate=gate, **{k: v for k, v in c.items() if k != "id"}) for c in cleaned_items]
    )
    audit_record(
        project=project,
        action="gate.created",
        actor=by,
        summary=summary.format(name=gate.name),
        data={"gate": gate.pk, "definition": gate_definition(gate=gate)},
    )
    return gate


@transaction.atomic
def gates_create_defaults(*, project: Project, by) -> list[QualityGate]:
    """Give a new project the three default gates of gates/defaults.py (idempotent by gate name)."""
    created = []
    existing = set(QualityGate.objects.filter(project=project).values_list("name", flat=True))
    for order, spec in enumerate(DEFAULT_GATES, start=1):
        if spec["name"] in existing:
            continue
        # A spec names the gate, its move, description, conditions and checklist items as _gate_build takes them.
        gate = _gate_build(
            project=project,
            order=order,
            registry=None,
            by=by,
            summary="Default gate '{name}' created",
            **spec,
        )
        created.append(gate)
    return created


@transaction.atomic
def gate_create(
    *,
    project: Project,
    name: str,
    by,
    description: str = "",
    conditions: Iterable[dict] = (),
    checklist_items: Iterable[dict] = (),
    order: int | None = None,
    is_active: bool = True,
    evaluate_on_schedule: bool = True,
    from_status: str = ReleaseStatus.READY,
    to_status: str = ReleaseStatus.RELEASED,
) -> QualityGate:
    """Create a gate with its conditions and checklist items (project admins only); it guards the release move
    from_status -> to_status (default ready -> released, the go-live)."""
    authorize(by, project, Action.MANAGE_GATES)
    name = _clean_name(name)
    if order is None:
        order = QualityGate.objects.filter(project=project).count() + 1
    gate = _gate_build(
        project=project,
        name=name,
        description=description,
        conditions=conditions,
        checklist_items=checklist_items,
        order=order,
        registry=definitions_for(project),
        by=by,
        summary="Gate '{name}' created",
        is_active=is_active,
        evaluate_on_schedule=evaluate_on_schedule,
        from_status=from_status,
        to_status=to_status,
    )
    return gate


def _sync_children(
    *, model, gate: QualityGate, rows: list[dict], fields: tuple[str, ...], label: str
) -> list[str]:
    """Make the gate's conditions/items equal to rows: update those with an id, create new, delete the rest."""
    changes: list[str] = []
    existing = {obj.pk: obj for obj in model.objects.filter(gate=gate)}
    keep: set[int] = set()
    for row in rows:
        row_id = row.get("id")
        if row_id not in (None, ""):
            try:
                obj = existing[int(row_id)]
            except (KeyError, TypeError, ValueError):
                raise DomainError(f"{label} {row_id} does not belong to gate '{gate.name}'.") from None
            keep.add(obj.pk)
            changed = [f for f in fields if getattr(obj, f) != row[f]]
            if changed:
                for f in changed:
                    setattr(obj, f, row[f])
                obj.save(update_fields=changed)
                changes.append(f"{label} {obj.pk} changed: {', '.join(changed)}")
        else:
            obj = model.objects.create(gate=gate, **{f: row[f] for f in fields})
            keep.add(obj.pk)
            changes.append(f"{label} {obj.pk} added")
    removed = [pk for pk in existing if pk not in keep]
    if removed:
        model.objects.filter(pk__in=removed).delete()
        changes.extend(f"{label} {pk} removed" for pk in removed)
    return changes


@transaction.atomic
def gate_update(*, gate: QualityGate, by, data: dict, expected_revision: int | None = None) -> QualityGate:
    """Change a gate. ``data`` may hold the gate fields, and full lists ``conditions`` / ``checklist_items``
    (rows with an ``id`` are updated, rows without are added, rows left out are removed).

    Any change bumps the revision (evaluations record the revision they used) and writes an audit row with
    the definition before and after. ``expected_revision`` guards against overwriting a concurrent edit (409).
    """
    authorize(by, gate.project, Action.MANAGE_GATES)
    gate = QualityGate.objects.select_for_update().get(pk=gate.pk)
    if expected_revision is not None and int(expected_revision) != gate.revision:
        raise ConflictError(
            f"Gate '{gate.name}' was changed by someone else (now revision {gate.revision}); reload and retry.",
            field="revision",
        )
    before = gate_definition(gate=gate)
    changes: list[str] = []
    fields = {k: data[k] for k in GATE_FIELDS if k in data}
    if "name" in fields:
        fields["name"] = _clean_name(fields["name"])
        if QualityGate.objects.filter(project=gate.project, name=fields["name"]).exclude(pk=gate.pk).exists():
            raise ConflictError(
                f"Project {gate.project.key} already has a gate named '{fields['name']}'.", field="name"
            )
    _check_guarded_move(fields.get("from_status", gate.from_status), fields.get("to_status", gate.to_status))
    changed_fields = [k for k, v in fields.items() if getattr(gate, k) != v]
    for k in changed_fields:
        setattr(gate, k, fields[k])
    if changed_fields:
        changes.append(f"gate fields changed: {', '.join(changed_fields)}")
    if "conditions" in data:
        rows = [
            _clean_condition(c, index=i, registry=definitions_for(gate.project))
            for i, c in enumerate(data["conditions"] or [])
        ]
        changes += _sync_children(
            model=GateCondition, gate=gate, rows=rows, fields=CONDITION_FIELDS, label="Condition"
        )
    if "checklist_items" in data:
        rows = [_clean_item(c, index=i) for i, c in enumerate(data["checklist_items"] or [])]
        changes += _sync_children(
            model=ChecklistItem, gate=gate, rows=rows, fields=ITEM_FIELDS, label="Checklist item"
        )
    if not changes:
        return gate
    gate.revision += 1
    gate.save(update_fields=[*changed_fields, "revision", "updated_at"])
    audit_record(
        project=gate.project,
        action="gate.changed",
        actor=by,
        summary=f"Gate '{gate.name}' changed to revision {gate.revision}: {'; '.join(changes)}",
        data={"gate": gate.pk, "before": before, "after": gate_definition(gate=gate), "changes": changes},
    )
    return gate


def check_release_in_gate_project(*, gate: QualityGate, release: Release) -> None:
    if release.project_id != gate.project_id:
        raise DomainError(
            f"Release {release} belongs to another project than gate '{gate.name}'.", field="release"
        )
