"""Who hears about governance events (issue 13): a gate evaluation that turned failed, a no-go, a suspended decision,
a waiver about to expire. Told: the decider of the decision in force (or the last one) and the project's release
managers, plus the waiver's owner for an expiring waiver; never the person who caused the event. Releases have no
owner of their own in QualityGov: the release managers are the release's owners. E-mail, in-app and the project's
webhooks are ``notifications.services.publish``'s job; these functions only say who and what, inside the
transaction of the change, or (the gate events of ``services.events``) right after it commits.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.utils import timezone

from notifications.kinds import Kind
from notifications.services import publish
from releases.models import Membership, Role

from .models import (
    Decision,
    DecisionKind,
    DecisionSuspension,
    EvaluationStatus,
    GateEvaluation,
    Outcome,
    Waiver,
)

# Waivers expiring this many days from today (inclusive) are announced, once each.
WAIVER_NOTICE_DAYS = 3


def _release_managers(project_id: int) -> list[int]:
    return list(
        Membership.objects.filter(project_id=project_id, role=Role.RELEASE_MANAGER).values_list(
            "user_id", flat=True
        )
    )


def _gates_url(release_id: int) -> str:
    return f"/releases/{release_id}/gates/"


def _failures(evaluation: GateEvaluation) -> list[str]:
    """The failed conditions and unsigned checklist items, for people."""
    rows = [
        f"{c.get('label') or c['metric']}: "
        + (
            "no data"
            if c.get("value") is None
            else f"{c['value']:g}{' ' + c['unit'] if c.get('unit') == '%' else ''}"
        )
        + f" (limit {c['error_threshold']:g}{', key condition' if c.get('key') else ''})"
        for c in evaluation.conditions
        if c["outcome"] == Outcome.FAILED
    ]
    rows += [
        f"checklist not signed: {i['text']}" for i in evaluation.checklist if i["outcome"] == Outcome.FAILED
    ]
    return rows


def _gate_notice(
    kind: str,
    *,
    gate,
    release,
    also: list,
    title: str,
    body: str,
    url="",
    actor=None,
    once_key=None,
    **payload,
):
    """Publish a governance event of `gate` and `release` to the project's release managers and the users in `also`;
    the payload names the release and the gate, then the event's own facts."""
    return publish(
        kind=kind,
        project=gate.project,
        recipients=[*_release_managers(gate.project_id), *also],
        title=title,
        body=body,
        url=url or _gates_url(release.pk),
        payload={
            "release": release.version,
            "release_id": release.pk,
            "gate": gate.name,
            "gate_id": gate.pk,
            **payload,
        },
        actor=actor,
        once_key=once_key,
    )


def gate_failed(*, evaluation: GateEvaluation) -> None:
    """An evaluation turned failed (``services.events.evaluation_failed`` decided that): tell the decider of the
    latest decision of that gate and release and the release managers, not whoever asked for the evaluation."""
    if evaluation.status != EvaluationStatus.FAILED:
        return
    previous = (
        GateEvaluation.objects.filter(
            gate_id=evaluation.gate_id, release_id=evaluation.release_id, pk__lt=evaluation.pk
        )
        .order_by("-created_at", "-id")
        .values_list("status", flat=True)
        .first()
    )
    gate, release = evaluation.gate, evaluation.release
    decider = (
        Decision.objects.filter(gate_id=gate.pk, release_id=release.pk, superseded_by__isnull=True)
        .values_list("decided_by_id", flat=True)
        .first()
    )
    failures = _failures(evaluation)
    _gate_notice(
        Kind.GATE_FAILED,
        gate=gate,
        release=release,
        also=[decider],
        title=f"{release.version}: gate '{gate.name}' failed",
        body=f"The evaluation of '{gate.name}' for {release.version} failed"
        + (f" (was {previous})" if previous else "")
        + ":\n"
        + "\n".join(f"- {f}" for f in failures),
        url=f"/evaluations/{evaluation.pk}/",
        actor=evaluation.requested_by,
        evaluation_id=evaluation.pk,
        status=evaluation.status,
        previous_status=previous,
        requested_via=evaluation.requested_via,
        failures=failures,
    )


def no_go_recorded(*, decision: Decision) -> None:
    """A no-go was recorded: tell the release managers and the decider of the decision it replaces."""
    if decision.decision != DecisionKind.NO_GO:
        return
    gate, release, by = decision.gate, decision.release, decision.decided_by
    previous = decision.supersedes
    _gate_notice(
        Kind.NO_GO_RECORDED,
        gate=gate,
        release=release,
        also=[previous.decided_by_id if previous else None],
        title=f"No-go for {release.version} at '{gate.name}'",
        body=f"{by.get_username()} recorded a no-go for {release.version} at '{gate.name}'; the move it guards is "
        f"blocked until a new go decision.\nRationale: {decision.rationale}",
        actor=by,
        decision_id=decision.pk,
        decided_by=by.get_username(),
        supersedes=previous.pk if previous else None,
    )


def decision_suspended(*, suspension: DecisionSuspension, by=None) -> None:
    """After a suspension is stored: tell the decider and the release managers that the go no longer holds."""
    decision = suspension.decision
    gate, release = decision.gate, decision.release
    _gate_notice(
        Kind.DECISION_SUSPENDED,
        gate=gate,
        release=release,
        also=[decision.decided_by_id],
        title=f"Decision suspended for {release.version} at '{gate.name}': {suspension.get_reason_display()}",
        body=f"The {decision.get_decision_display()} decision of {decision.decided_at:%Y-%m-%d %H:%M} UTC for "
        f"{release.version} at '{gate.name}' is suspended: {suspension.detail}\n"
        "It permits nothing until a release manager records a new decision.",
        actor=by,
        decision_id=decision.pk,
        **{name: getattr(suspension, name) for name in ("reason", "detail", "evaluation_id", "waiver_id")},
    )


def waivers_notify_expiring(*, today: dt.date | None = None) -> int:
    """Announce each waiver of a decision in force that expires within WAIVER_NOTICE_DAYS days (today included),
    once per waiver (the event's once-key), to its owner, the decider and the release managers. Only decisions
    for the move the release is about to make count (a released release's earlier gates are history).
    Returns how many waivers were announced now."""
    today = today or timezone.now().date()
    waivers = (
        Waiver.objects.filter(
            expires__gte=today,
            expires__lte=today + dt.timedelta(days=WAIVER_NOTICE_DAYS),
            decision__superseded_by__isnull=True,
            decision__suspension__isnull=True,
            decision__release__status=F("decision__gate__from_status"),
        )
        .select_related("decision__gate__project", "decision__release", "owner")
        .order_by("expires", "id")
    )
    told = 0
    for waiver in waivers:
        decision = waiver.decision
        gate, release = decision.gate, decision.release
        days = (waiver.expires - today).days
        when = "today" if days == 0 else ("tomorrow" if days == 1 else f"in {days} days")
        event = _gate_notice(
            Kind.WAIVER_EXPIRING,
            gate=gate,
            release=release,
            also=[waiver.owner_id, decision.decided_by_id],
            title=f"Waiver expires {when}: {release.version} at '{gate.name}'",
            body=f"The waiver of {waiver.subject} (owner {waiver.owner.get_username()}) expires on {waiver.expires}. "
            "When it expires the decision it belongs to is suspended; fix the failure or record a new decision.",
            decision_id=decision.pk,
            waiver_id=waiver.pk,
            expires=waiver.expires.isoformat(),
            once_key=f"waiver_expiring:{waiver.pk}",
        )
        told += event is not None
    return told
