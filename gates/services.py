"""Writes for gates: definitions, checklist sign-offs, evaluations, go/no-go decisions and their audit trail.

Every function here that changes a governance record also writes its AuditEvent row, so no caller can
forget it. How a condition is judged is in ``gates.rules``.
"""

import datetime as dt
import logging
import math
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from qualitygov.errors import AccessDenied, ConflictError, DomainError
from releases.access import Action, can, has_role, require
from releases.models import ACTIVE_RELEASE_STATUSES, Membership, Project, Release, Role

from .defaults import DEFAULT_GATES
from .models import (
    AuditEvent,
    ChecklistItem,
    ChecklistSignoff,
    Decision,
    DecisionKind,
    EvaluationStatus,
    GateCondition,
    GateEvaluation,
    MissingData,
    Operator,
    Outcome,
    QualityGate,
    Waiver,
)
from .rules import condition_outcome, overall_status, threshold_problem

User = get_user_model()
logger = logging.getLogger(__name__)

# An evaluation older than this is never reused for a decision (see evaluation_is_fresh).
FRESH_MINUTES: int = getattr(settings, "QUALITYGOV_EVALUATION_FRESH_MINUTES", 10)

GATE_FIELDS = ("name", "description", "order", "is_active", "evaluate_on_schedule")
CONDITION_FIELDS = ("metric", "operator", "error_threshold", "warn_threshold", "key", "missing_data", "order")
ITEM_FIELDS = ("text", "role", "order")


# --- Audit -------------------------------------------------------------------


def audit_record(
    *,
    project: Project,
    action: str,
    summary: str,
    actor=None,
    release: Release | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Append one row to the project's audit log (summary cut to the column's length)."""
    return AuditEvent.objects.create(
        project=project,
        release=release,
        action=action,
        summary=summary[:500],
        data=data or {},
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )


# --- Gate definitions --------------------------------------------------------


def _metric_registry() -> dict:
    from metrics.registry import REGISTRY

    return REGISTRY


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
    try:
        error_threshold = float(raw.get("error_threshold"))
        warn = raw.get("warn_threshold")
        warn_threshold = None if warn in (None, "") else float(warn)
    except (TypeError, ValueError):
        raise DomainError(f"{where}: thresholds must be numbers.", field="conditions") from None
    for value in (error_threshold, warn_threshold):
        if value is not None and not math.isfinite(value):
            raise DomainError(f"{where}: thresholds must be finite numbers.", field="conditions")
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


def gate_definition(*, gate: QualityGate) -> dict:
    """The gate as it is now (name, revision, conditions, checklist items), as stored in evaluations."""
    return {
        "gate": gate.pk,
        "name": gate.name,
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
    is_active: bool = True,
    evaluate_on_schedule: bool = True,
) -> QualityGate:
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
    )
    GateCondition.objects.bulk_create(
        [GateCondition(gate=gate, **{k: v for k, v in c.items() if k != "id"}) for c in cleaned_conditions]
    )
    ChecklistItem.objects.bulk_create(
        [ChecklistItem(gate=gate, **{k: v for k, v in c.items() if k != "id"}) for c in cleaned_items]
    )
    return gate


@transaction.atomic
def gates_create_defaults(*, project: Project, by=None) -> list[QualityGate]:
    """Give a new project the three default gates of gates/defaults.py (idempotent by gate name)."""
    created = []
    existing = set(QualityGate.objects.filter(project=project).values_list("name", flat=True))
    for order, spec in enumerate(DEFAULT_GATES, start=1):
        if spec["name"] in existing:
            continue
        gate = _gate_build(
            project=project,
            name=spec["name"],
            description=spec["description"],
            conditions=spec["conditions"],
            checklist_items=spec["checklist_items"],
            order=order,
            registry=None,
        )
        audit_record(
            project=project,
            action="gate.created",
            actor=by,
            summary=f"Default gate '{gate.name}' created",
            data={"gate": gate.pk, "definition": gate_definition(gate=gate)},
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
) -> QualityGate:
    """Create a gate with its conditions and checklist items (project admins only)."""
    require(by, project, Action.MANAGE_GATES)
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
        registry=_metric_registry(),
        is_active=is_active,
        evaluate_on_schedule=evaluate_on_schedule,
    )
    audit_record(
        project=project,
        action="gate.created",
        actor=by,
        summary=f"Gate '{gate.name}' created",
        data={"gate": gate.pk, "definition": gate_definition(gate=gate)},
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
    require(by, gate.project, Action.MANAGE_GATES)
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
    changed_fields = [k for k, v in fields.items() if getattr(gate, k) != v]
    for k in changed_fields:
        setattr(gate, k, fields[k])
    if changed_fields:
        changes.append(f"gate fields changed: {', '.join(changed_fields)}")
    if "conditions" in data:
        registry = _metric_registry()
        rows = [
            _clean_condition(c, index=i, registry=registry) for i, c in enumerate(data["conditions"] or [])
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


# --- Checklist sign-offs -----------------------------------------------------


def _check_release_in_gate_project(*, gate: QualityGate, release: Release) -> None:
    if release.project_id != gate.project_id:
        raise DomainError(
            f"Release {release} belongs to another project than gate '{gate.name}'.", field="release"
        )


@transaction.atomic
def signoff_create(*, item: ChecklistItem, release: Release, by, comment: str = "") -> ChecklistSignoff:
    """Sign a checklist item off for a release. Only a user holding the item's role in the project may."""
    gate = item.gate
    _check_release_in_gate_project(gate=gate, release=release)
    if not has_role(by, gate.project_id, item.role):
        raise AccessDenied(
            f"Only a user with the role '{Role(item.role).label}' in {gate.project.key} signs off '{item.text}'."
        )
    if ChecklistSignoff.objects.filter(item=item, release=release, revoked_at__isnull=True).exists():
        raise ConflictError(f"'{item.text}' is already signed off for {release}; revoke it first.")
    try:
        with transaction.atomic():
            signoff = ChecklistSignoff.objects.create(
                item=item, release=release, signed_by=by, comment=(comment or "").strip()
            )
    except IntegrityError:
        raise ConflictError(f"'{item.text}' was just signed off for {release} by someone else.") from None
    audit_record(
        project=gate.project,
        release=release,
        action="signoff.signed",
        actor=by,
        summary=f"Signed off '{item.text}' ({gate.name}) for {release.version}",
        data={"signoff": signoff.pk, "item": item.pk, "gate": gate.pk, "comment": signoff.comment},
    )
    return signoff


@transaction.atomic
def signoff_revoke(*, signoff: ChecklistSignoff, by, reason: str) -> ChecklistSignoff:
    """Revoke a sign-off with a reason; the row stays, with who revoked it, when and why.

    Allowed to the signer, to anyone holding the item's role, and to release managers and admins.
    """
    signoff = (
        ChecklistSignoff.objects.select_for_update()
        .select_related("item__gate__project", "release")
        .get(pk=signoff.pk)
    )
    item, project = signoff.item, signoff.item.gate.project
    allowed = (
        signoff.signed_by_id == getattr(by, "pk", None)
        or has_role(by, project.pk, item.role)
        or has_role(by, project.pk, Role.RELEASE_MANAGER)
        or has_role(by, project.pk, Role.ADMIN)
    )
    if not allowed:
        raise AccessDenied(
            "Only the signer, a holder of the item's role, a release manager or an admin may revoke."
        )
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Revoking a sign-off needs a reason.", field="reason")
    if signoff.revoked_at is not None:
        raise ConflictError("This sign-off is already revoked.")
    signoff.revoked_at = timezone.now()
    signoff.revoked_by = by
    signoff.revoke_reason = reason
    signoff.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_record(
        project=project,
        release=signoff.release,
        action="signoff.revoked",
        actor=by,
        summary=f"Revoked sign-off of '{item.text}' for {signoff.release.version}: {reason}",
        data={"signoff": signoff.pk, "item": item.pk, "gate": item.gate_id, "reason": reason},
    )
    return signoff


# --- Evaluations -------------------------------------------------------------


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


@transaction.atomic
def gate_evaluate(*, gate: QualityGate, release: Release, by=None, via: str = "browser") -> GateEvaluation:
    """Evaluate a gate for a release from fresh metric values and store everything the outcome rests on.

    ``by`` None means the scheduler (no permission check); a user needs EVALUATE_GATES in the project.
    Each stored condition holds {condition, metric, label, unit, operator, value, n, error_threshold,
    warn_threshold, key, missing_data, no_data, outcome}; each checklist entry the item, its role and
    sign-off (who, when, comment) with outcome passed (signed) or failed (unsigned).
    """
    from metrics.services import compute_for_release

    if by is not None:
        require(by, gate.project, Action.EVALUATE_GATES)
    _check_release_in_gate_project(gate=gate, release=release)
    conditions = list(gate.conditions.all())
    items = list(gate.checklist_items.all())
    registry = _metric_registry()
    # A key the registry no longer knows has no value: the condition's missing-data policy then decides.
    keys = sorted({c.metric for c in conditions if c.metric in registry})
    results = compute_for_release(release=release, keys=keys) if keys else {}

    condition_rows = []
    for c in conditions:
        result = results.get(c.metric)
        value = _round(getattr(result, "value", None))
        metric_def = registry.get(c.metric)
        condition_rows.append(
            {
                "condition": c.pk,
                "metric": c.metric,
                "label": getattr(metric_def, "label", c.metric),
                "unit": getattr(metric_def, "unit", ""),
                "operator": c.operator,
                "value": value,
                "n": getattr(result, "n", 0) or 0,
                "error_threshold": c.error_threshold,
                "warn_threshold": c.warn_threshold,
                "key": c.key,
                "missing_data": c.missing_data,
                "no_data": value is None,
                "outcome": condition_outcome(
                    operator=c.operator,
                    value=value,
                    error_threshold=c.error_threshold,
                    warn_threshold=c.warn_threshold,
                    missing_data=c.missing_data,
                ),
            }
        )

    live = {
        s.item_id: s
        for s in ChecklistSignoff.objects.filter(
            item__in=items, release=release, revoked_at__isnull=True
        ).select_related("signed_by")
    }
    checklist_rows = []
    for item in items:
        s = live.get(item.pk)
        checklist_rows.append(
            {
                "item": item.pk,
                "text": item.text,
                "role": item.role,
                "signed": s is not None,
                "signoff": s.pk if s else None,
                "signed_by": s.signed_by.get_username() if s else None,
                "signed_at": s.signed_at.isoformat() if s else None,
                "comment": s.comment if s else "",
                "outcome": Outcome.PASSED.value if s else Outcome.FAILED.value,
            }
        )

    status = overall_status([r["outcome"] for r in condition_rows] + [r["outcome"] for r in checklist_rows])
    evaluation = GateEvaluation.objects.create(
        gate=gate,
        release=release,
        status=status,
        definition=gate_definition(gate=gate),
        conditions=condition_rows,
        checklist=checklist_rows,
        requested_by=by if getattr(by, "is_authenticated", False) else None,
        requested_via=via[:20],
    )
    failed = [r["metric"] for r in condition_rows if r["outcome"] == Outcome.FAILED] + [
        r["text"] for r in checklist_rows if r["outcome"] == Outcome.FAILED
    ]
    audit_record(
        project=gate.project,
        release=release,
        action="evaluation.created",
        actor=by,
        summary=f"Evaluated '{gate.name}' for {release.version} ({via}): {status}"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        data={"evaluation": evaluation.pk, "gate": gate.pk, "status": status, "revision": gate.revision},
    )
    return evaluation


def evaluation_is_fresh(*, evaluation: GateEvaluation, now: dt.datetime | None = None) -> bool:
    """An evaluation is fresh enough to decide on when all of these hold:

    * it is the latest evaluation of its gate and release,
    * it is younger than FRESH_MINUTES (settings.QUALITYGOV_EVALUATION_FRESH_MINUTES, default 10),
    * the gate's revision is the one it evaluated,
    * no checklist sign-off of the gate was made or revoked for the release since,
    * no defect of the release moved and no test run of the release was recorded since.
    Anything else is stale, and a decision re-evaluates the gate before it is recorded.
    """
    from defects.models import DefectTransition
    from testing.models import TestRun

    now = now or timezone.now()
    if evaluation.created_at < now - dt.timedelta(minutes=FRESH_MINUTES):
        return False
    gate, release_id, since = evaluation.gate, evaluation.release_id, evaluation.created_at
    if evaluation.definition.get("revision") != QualityGate.objects.values_list("revision", flat=True).get(
        pk=gate.pk
    ):
        return False
    latest = (
        GateEvaluation.objects.filter(gate=gate, release_id=release_id)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    if latest != evaluation.pk:
        return False
    signoffs = ChecklistSignoff.objects.filter(item__gate=gate, release_id=release_id)
    if signoffs.filter(signed_at__gt=since).exists() or signoffs.filter(revoked_at__gt=since).exists():
        return False
    if DefectTransition.objects.filter(defect__found_in_release_id=release_id, at__gt=since).exists():
        return False
    return not TestRun.objects.filter(release_id=release_id, created_at__gt=since).exists()


def scheduled_gate_pairs() -> list[tuple[QualityGate, Release]]:
    """Every (active scheduled gate, active release of its project) pair, in gate order."""
    gates = QualityGate.objects.filter(is_active=True, evaluate_on_schedule=True).select_related("project")
    releases_by_project: dict[int, list[Release]] = {}
    for release in Release.objects.filter(status__in=ACTIVE_RELEASE_STATUSES).select_related("project"):
        releases_by_project.setdefault(release.project_id, []).append(release)
    return [(gate, release) for gate in gates for release in releases_by_project.get(gate.project_id, [])]


def gates_evaluate_scheduled(*, on_each=None) -> int:
    """Evaluate every active, scheduled gate for every active release of its project; returns how many.

    Each evaluation commits on its own, and one that is refused (a DomainError, e.g. a metric the registry
    rejects) is logged and skipped so the others still run; anything else propagates (the task fails loudly).
    `on_each()` is called after every pair, evaluated or refused (progress bars).
    """
    count = 0
    for gate, release in scheduled_gate_pairs():
        try:
            gate_evaluate(gate=gate, release=release, by=None, via="schedule")
        except DomainError as exc:
            logger.warning(
                "Scheduled evaluation of gate %s for release %s refused: %s",
                gate.pk,
                release.pk,
                exc.message,
            )
        else:
            count += 1
        if on_each is not None:
            on_each()
    return count


# --- Decisions -----------------------------------------------------------------


def _owner_for(*, owner, project: Project, index: int):
    """Resolve a waiver owner (a user or a username) who must be a member of the project."""
    if isinstance(owner, str):
        username = owner.strip()
        owner = User.objects.filter(username=username).first()
        if owner is None:
            raise DomainError(f"Waiver {index + 1}: no user named '{username}'.", field="waivers")
    if owner is None or not getattr(owner, "pk", None):
        raise DomainError(f"Waiver {index + 1}: an owner is required.", field="waivers")
    if not owner.is_superuser and not Membership.objects.filter(project=project, user=owner).exists():
        raise DomainError(
            f"Waiver {index + 1}: owner '{owner.get_username()}' is not a member of {project.key}.",
            field="waivers",
        )
    return owner


def _parse_expiry(value, *, index: int) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise DomainError(
                f"Waiver {index + 1}: expiry '{value}' is not a date (YYYY-MM-DD).", field="waivers"
            ) from None
    if not isinstance(value, dt.date):
        raise DomainError(f"Waiver {index + 1}: an expiry date is required.", field="waivers")
    if value <= timezone.now().date():
        raise DomainError(
            f"Waiver {index + 1}: the expiry date {value} must be in the future.", field="waivers"
        )
    return value


def decision_check(*, evaluation: GateEvaluation, decision: str, waivers: list[dict]) -> list[dict]:
    """Apply the contract's decision rules to an evaluation; returns the waivers matched to the failures.

    * ``go`` needs a passed or warned evaluation, and takes no waivers;
    * ``no_go`` is always allowed and takes no waivers;
    * ``go_with_waivers`` needs a failed evaluation, no failed ``key`` condition, and exactly one waiver for
      each failed condition or checklist item (none missing, none twice, none for something that did not fail).
    Each returned waiver has ``condition`` or ``checklist_item`` (ids), ``subject``, and the raw fields.
    """
    if decision not in DecisionKind.values:
        raise DomainError(f"decision must be one of {', '.join(DecisionKind.values)}.", field="decision")
    waivers = list(waivers or [])
    if decision in (DecisionKind.GO, DecisionKind.NO_GO):
        if waivers:
            raise DomainError("Waivers belong to a 'go_with_waivers' decision only.", field="waivers")
        if decision == DecisionKind.GO and evaluation.status == EvaluationStatus.FAILED:
            failures = _failure_subjects(evaluation)
            raise DomainError(
                "'go' needs a passed or warned evaluation; this one failed on "
                f"{', '.join(failures.values())}. Record 'no_go', or 'go_with_waivers' with a waiver for each failure.",
                field="decision",
            )
        return []
    if evaluation.status != EvaluationStatus.FAILED:
        raise DomainError(
            f"The evaluation {evaluation.status}: there is nothing to waive; record 'go' instead.",
            field="decision",
        )
    key_failures = [c for c in evaluation.conditions if c["outcome"] == Outcome.FAILED and c.get("key")]
    if key_failures:
        names = ", ".join(_condition_subject(c) for c in key_failures)
        raise DomainError(f"A failed key condition cannot be waived: {names}.", field="waivers")
    failures = _failure_subjects(evaluation)
    matched: dict[tuple[str, int], dict] = {}
    for index, raw in enumerate(waivers):
        condition, item = raw.get("condition"), raw.get("checklist_item")
        if (condition in (None, "")) == (item in (None, "")):
            raise DomainError(
                f"Waiver {index + 1}: name either a condition or a checklist item.", field="waivers"
            )
        try:
            target = (
                ("condition", int(condition))
                if condition not in (None, "")
                else ("checklist_item", int(item))
            )
        except (TypeError, ValueError):
            raise DomainError(
                f"Waiver {index + 1}: the condition or item id must be a number.", field="waivers"
            ) from None
        if target not in failures:
            raise DomainError(
                f"Waiver {index + 1}: {target[0].replace('_', ' ')} {target[1]} did not fail in evaluation "
                f"{evaluation.pk}; only failures are waived.",
                field="waivers",
            )
        if target in matched:
            raise DomainError(f"Waiver {index + 1}: {failures[target]} is waived twice.", field="waivers")
        justification = str(raw.get("justification") or "").strip()
        if not justification:
            raise DomainError(
                f"Waiver {index + 1} ({failures[target]}): a justification is required.", field="waivers"
            )
        matched[target] = {
            **raw,
            "target": target,
            "subject": failures[target],
            "justification": justification,
            "index": index,
        }
    missing = [subject for target, subject in failures.items() if target not in matched]
    if missing:
        raise DomainError(
            f"Every failure needs a waiver; missing for: {', '.join(missing)}.", field="waivers"
        )
    return list(matched.values())


def _condition_subject(c: dict) -> str:
    op = dict(Operator.choices).get(c["operator"], c["operator"])
    value = "no data" if c.get("value") is None else f"{c['value']:g}"
    return f"{c['metric']} {op} {c['error_threshold']:g} (was {value})"


def _failure_subjects(evaluation: GateEvaluation) -> dict[tuple[str, int], str]:
    failures: dict[tuple[str, int], str] = {}
    for c in evaluation.conditions:
        if c["outcome"] == Outcome.FAILED:
            failures[("condition", c["condition"])] = _condition_subject(c)
    for i in evaluation.checklist:
        if i["outcome"] == Outcome.FAILED:
            failures[("checklist_item", i["item"])] = f"checklist: {i['text']} (not signed)"
    return failures


def decision_record(
    *,
    release: Release,
    gate: QualityGate,
    decision: str,
    rationale: str,
    by,
    evaluation: GateEvaluation | None = None,
    waivers: list[dict] | None = None,
) -> Decision:
    """Record a go/no-go decision for a release at a gate (release managers only).

    The decision rests on ``evaluation`` when it belongs to this gate and release and is fresh
    (``evaluation_is_fresh``); otherwise a fresh evaluation is made first and the rules are applied to it.
    Rules: ``decision_check``. The release row is locked so that concurrent decisions for the same
    release are serialised; the new decision supersedes the latest one of the same release and gate.
    Waivers: {condition | checklist_item, justification, owner (user or username), expires (date, future)}.
    """
    require(by, release.project_id, Action.DECIDE)
    _check_release_in_gate_project(gate=gate, release=release)
    rationale = (rationale or "").strip()
    if not rationale:
        raise DomainError("A decision needs a rationale.", field="rationale")
    if evaluation is not None and (evaluation.gate_id != gate.pk or evaluation.release_id != release.pk):
        raise DomainError(
            f"Evaluation {evaluation.pk} is of another gate or release; a decision rests on an evaluation of "
            f"'{gate.name}' for {release.version}.",
            field="evaluation",
        )
    if decision not in DecisionKind.values:
        raise DomainError(f"decision must be one of {', '.join(DecisionKind.values)}.", field="decision")
    try:
        with transaction.atomic():
            # Serialise decisions of one release (PostgreSQL row lock; SQLite locks the whole database on write).
            Release.objects.select_for_update().filter(pk=release.pk).first()
            if evaluation is None or not evaluation_is_fresh(evaluation=evaluation):
                evaluation = gate_evaluate(gate=gate, release=release, by=by, via="decision")
            matched = decision_check(evaluation=evaluation, decision=decision, waivers=waivers or [])
            prepared = [
                {
                    **w,
                    "owner": _owner_for(owner=w.get("owner"), project=gate.project, index=w["index"]),
                    "expires": _parse_expiry(w.get("expires"), index=w["index"]),
                }
                for w in matched
            ]
            previous = (
                Decision.objects.filter(release=release, gate=gate, superseded_by__isnull=True)
                .order_by("-decided_at", "-id")
                .first()
            )
            record = Decision.objects.create(
                release=release,
                gate=gate,
                evaluation=evaluation,
                decision=decision,
                rationale=rationale,
                decided_by=by,
                supersedes=previous,
            )
            for w in prepared:
                kind, target_id = w["target"]
                waiver = Waiver.objects.create(
                    decision=record,
                    condition_id=target_id if kind == "condition" else None,
                    checklist_item_id=target_id if kind == "checklist_item" else None,
                    subject=w["subject"][:300],
                    justification=w["justification"],
                    owner=w["owner"],
                    expires=w["expires"],
                )
                audit_record(
                    project=gate.project,
                    release=release,
                    action="waiver.created",
                    actor=by,
                    summary=f"Waived {waiver.subject} until {waiver.expires} (owner {waiver.owner.get_username()})",
                    data={"waiver": waiver.pk, "decision": record.pk, "justification": waiver.justification},
                )
            audit_record(
                project=gate.project,
                release=release,
                action="decision.recorded",
                actor=by,
                summary=f"{record.get_decision_display()} for {release.version} at '{gate.name}' "
                f"(evaluation {evaluation.pk}: {evaluation.status})"
                + (f", supersedes decision {previous.pk}" if previous else ""),
                data={
                    "decision": record.pk,
                    "evaluation": evaluation.pk,
                    "supersedes": previous.pk if previous else None,
                    "rationale": rationale,
                },
            )
    except IntegrityError:
        # Two decisions superseded the same one at once (only possible where the row lock is not available).
        raise ConflictError(
            f"Another decision for {release.version} at '{gate.name}' was recorded at the same time; reload and retry."
        ) from None
    return record


def user_can_decide(*, user, project: Project) -> bool:
    """Whether the decision form should be offered (the service enforces it either way)."""
    return can(user, project, Action.DECIDE)
