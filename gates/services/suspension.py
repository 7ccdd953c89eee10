"""Decisions stay true to the evidence (metrics.md): suspending a go decision that the evidence no longer supports.

Two entry points, each the one place its event happens:

* ``suspend_decisions_for(evaluation)``: after an evaluation of a gate for a release, the go / go-with-waivers
  decision in force there is suspended when that evaluation (a) fails a key condition or (b) fails a condition or
  checklist item no unexpired waiver of the decision covers, or (c) one of its waivers has expired;
* ``expire_waivers(now)``: the periodic beat task; every go decision in force with a waiver past its expiry date
  is suspended (reason: waiver expired), and the release's current gates are re-evaluated (an expiring waiver is a
  change of evidence).

A suspension is stored once per decision (with the reason and what caused it), audited, and announced
(``events.decision_suspended``). A suspended decision permits nothing; only a new decision lifts it.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from metrics import services as metric_services

from ..models import Decision, DecisionSuspension, GateEvaluation, SuspensionReason, Waiver
from ..verdicts import GO_KINDS, expired_waiver, suspension_reason
from . import events
from .audit import audit_record


def _decision_in_force(*, gate_id: int, release_id: int) -> Decision | None:
    """The latest go decision of the gate and release that is neither superseded nor suspended, locked."""
    decision = (
        Decision.objects.select_for_update(of=("self",))
        .filter(gate_id=gate_id, release_id=release_id, superseded_by__isnull=True)
        .order_by("-decided_at", "-id")
        .first()
    )
    if decision is None or decision.decision not in GO_KINDS:
        return None
    if DecisionSuspension.objects.filter(decision=decision).exists():
        return None
    return decision


def _suspend(
    *,
    decision: Decision,
    reason: str,
    detail: str,
    evaluation: GateEvaluation | None = None,
    waiver: Waiver | None = None,
    at: dt.datetime | None = None,
) -> DecisionSuspension | None:
    """Store, audit and announce one suspension (None when another process suspended the decision first)."""
    try:
        with transaction.atomic():
            suspension = DecisionSuspension.objects.create(
                decision=decision,
                reason=reason,
                detail=detail[:500],
                evaluation=evaluation,
                waiver=waiver,
                at=at or timezone.now(),
            )
    except IntegrityError:
        return None
    release, gate = decision.release, decision.gate
    audit_record(
        project=gate.project,
        release=release,
        action="decision.suspended",
        summary=f"{decision.get_decision_display()} for {release.version} at '{gate.name}' suspended: {detail}",
        data={
            "decision": decision.pk,
            "reason": reason,
            "detail": detail,
            "evaluation": evaluation.pk if evaluation else None,
            "waiver": waiver.pk if waiver else None,
        },
    )
    events.announce(events.decision_suspended, suspension)
    return suspension


def suspend_decisions_for(evaluation: GateEvaluation) -> DecisionSuspension | None:
    """Suspend the go decision in force at the evaluation's gate and release if the evaluation contradicts it.

    Only a later evaluation counts (not the one the decision rests on). Returns the stored suspension or None.
    """
    with transaction.atomic():
        decision = _decision_in_force(gate_id=evaluation.gate_id, release_id=evaluation.release_id)
        # Evaluation ids grow with time, and a decision rests on the latest evaluation when it was recorded.
        if decision is None or evaluation.pk <= decision.evaluation_id:
            return None
        found = suspension_reason(
            kind=decision.decision,
            waivers=list(decision.waivers.all()),
            conditions=evaluation.conditions,
            checklist=evaluation.checklist,
            today=evaluation.created_at.date(),
        )
        if found is None:
            return None
        reason, detail, waiver = found
        return _suspend(decision=decision, reason=reason, detail=detail, evaluation=evaluation, waiver=waiver)


def expire_waivers(now: dt.datetime | None = None) -> list[DecisionSuspension]:
    """Suspend every go decision in force that holds a waiver past its expiry date (a waiver holds through its
    expiry day, UTC), and ask for a re-evaluation of the release's current gates. Returns the new suspensions."""
    now = now or timezone.now()
    today = now.date()
    candidates = (
        Decision.objects.filter(
            decision__in=GO_KINDS,
            superseded_by__isnull=True,
            suspension__isnull=True,
            waivers__expires__lt=today,
        )
        .distinct()
        .values_list("pk", flat=True)
    )
    suspended = []
    for pk in list(candidates):
        with transaction.atomic():
            decision = (
                Decision.objects.select_for_update(of=("self",))
                .select_related("release", "gate__project")
                .filter(pk=pk, superseded_by__isnull=True)
                .first()
            )
            if decision is None or DecisionSuspension.objects.filter(decision=decision).exists():
                continue
            waiver = expired_waiver(decision.waivers.all(), today=today)
            if waiver is None:
                continue
            suspension = _suspend(
                decision=decision,
                reason=SuspensionReason.WAIVER_EXPIRED,
                detail=f"waiver expired on {waiver.expires}: {waiver.subject}",
                waiver=waiver,
                at=now,
            )
            if suspension is not None:
                suspended.append(suspension)
                # An expiring waiver is a change of evidence: the release's current gates are re-evaluated.
                metric_services.schedule_recompute(release_ids=[decision.release_id])
    return suspended
