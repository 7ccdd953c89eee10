"""Go/no-go decisions: the contract's decision rules, waivers for failures, and recording a decision."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from metrics.risk_selectors import release_economics
from qualitygov.errors import ConflictError, DomainError
from releases.access import Action, authorize, can
from releases.models import Membership, Project, Release

from ..models import (
    Decision,
    DecisionKind,
    EvaluationStatus,
    GateEvaluation,
    Operator,
    Outcome,
    QualityGate,
    Waiver,
)
from . import events
from .audit import audit_record
from .definitions import check_release_in_gate_project
from .evaluation import evaluation_is_fresh, gate_evaluate

User = get_user_model()


def _owner_for(*, owner, project: Project, index: int):
    """Resolve a waiver owner (a user or a username) who must be a member of the project."""
    if isinstance(owner, str):
        username = owner.strip()
        owner = User.objects.filter(username=username).first()
        if owner is None:  # the same words as for a user outside the project: no username oracle
            raise DomainError(
                f"Waiver {index + 1}: owner '{username}' is not a member of {project.key}.", field="waivers"
            )
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


def evaluation_failures(evaluation: GateEvaluation | None) -> list[dict]:
    """One row per failure of the evaluation: {kind ("condition" | "checklist_item"), id, row (the stored
    condition or checklist entry), key (a failed key condition cannot be waived), subject (for people)}."""
    if evaluation is None:
        return []
    rows = [
        {
            "kind": "condition",
            "id": c["condition"],
            "row": c,
            "key": c.get("key", False),
            "subject": _condition_subject(c),
        }
        for c in evaluation.conditions
        if c["outcome"] == Outcome.FAILED
    ]
    rows += [
        {
            "kind": "checklist_item",
            "id": i["item"],
            "row": i,
            "key": False,
            "subject": f"checklist: {i['text']} (not signed)",
        }
        for i in evaluation.checklist
        if i["outcome"] == Outcome.FAILED
    ]
    return rows


def _failure_subjects(evaluation: GateEvaluation) -> dict[tuple[str, int], str]:
    return {(f["kind"], f["id"]): f["subject"] for f in evaluation_failures(evaluation)}


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
    The economics of going now or postponing (metrics.risk_selectors.release_economics) are stored with the
    decision, as the decider saw them.
    """
    authorize(by, release.project_id, Action.DECIDE)
    check_release_in_gate_project(gate=gate, release=release)
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
                # The decision being recorded supersedes the one in force: this evaluation suspends nothing.
                evaluation = gate_evaluate(gate=gate, release=release, by=by, via="decision", suspend=False)
            matched = decision_check(evaluation=evaluation, decision=decision, waivers=waivers or [])
            prepared = [
                {
                    **w,
                    "owner": _owner_for(owner=w.get("owner"), project=gate.project, index=w["index"]),
                    "expires": _parse_expiry(w.get("expires"), index=w["index"]),
                }
                for w in matched
            ]
            # What the decider saw beside the gate: the economics of going now or postponing, on the release's
            # fresh risk score and the calibration and costs in force now (metrics.md); stored with the decision.
            economics = release_economics(release=release)
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
                economics=economics,
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
                    "economics": {
                        k: economics.get(k)
                        for k in ("shown", "p", "p_prime", "cost_go_now", "break_even_days")
                    },
                },
            )
            if record.decision == DecisionKind.NO_GO:
                events.announce(events.no_go_recorded, record)
    except IntegrityError:
        # Two decisions superseded the same one at once (only possible where the row lock is not available).
        raise ConflictError(
            f"Another decision for {release.version} at '{gate.name}' was recorded at the same time; reload and retry."
        ) from None
    return record


def user_can_decide(*, user, project: Project) -> bool:
    """Whether the decision form should be offered (the service enforces it either way)."""
    return can(user, project, Action.DECIDE)
