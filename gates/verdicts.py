"""Reads that say whether a release may move: its current gates, the decision in force at each, and why not.

metrics.md, "Gates guard release transitions" and "Decisions stay true to the evidence":
- a release's *current gates* are the active gates guarding its next move (releases.models.NEXT_STATUS);
- a `go` or `go_with_waivers` decision is in force from its recording until a later decision supersedes it or it
  is suspended (a later evaluation fails a key condition, or fails something no unexpired waiver covers, or one
  of its waivers expires). A suspended decision permits nothing; a `no_go` in force blocks the move.
The rule itself is ``suspension_reason`` (pure, tested without the database); the rest are bounded queries.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q
from django.utils import timezone

from releases.models import NEXT_STATUS, Release

from .models import Decision, DecisionKind, GateEvaluation, Outcome, QualityGate, SuspensionReason, Waiver

GO_KINDS = (DecisionKind.GO, DecisionKind.GO_WITH_WAIVERS)


class DecisionState:
    """How a gate's latest decision stands for a release."""

    NONE = "none"  # no decision recorded
    IN_FORCE = "in_force"  # a go / go_with_waivers that permits the move
    NO_GO = "no_go"  # a no-go in force: blocks the move
    SUSPENDED = "suspended"  # a go whose evidence no longer holds: permits nothing


@dataclass
class Verdict:
    """One gate's standing for one release: the decision in force (or none) and what it permits."""

    gate: QualityGate
    decision: Decision | None
    state: str
    reason: str = ""  # why the move is not permitted (empty when in force)
    suspension_reason: str | None = None  # SuspensionReason value when suspended
    waivers: list[Waiver] = field(default_factory=list)

    @property
    def permits(self) -> bool:
        return self.state == DecisionState.IN_FORCE


def _today() -> dt.date:
    return timezone.now().date()


def expired_waiver(waivers: Iterable, *, today: dt.date) -> object | None:
    """The first waiver past its expiry date (a waiver holds through its expiry day, UTC), or None."""
    for waiver in sorted(waivers, key=lambda w: (w.expires, w.pk or 0)):
        if waiver.expires < today:
            return waiver
    return None


def suspension_reason(
    *, kind: str, waivers: Iterable, conditions: list[dict], checklist: list[dict], today: dt.date
) -> tuple[str, str, object | None] | None:
    """Why a go decision no longer holds against an evaluation (its conditions and checklist rows), or None.

    (a) a failed `key` condition suspends; (b) a failed condition or checklist item that no unexpired waiver of
    the decision covers suspends; (c) an expired waiver suspends. Returns (reason, detail, waiver or None).
    A no-go is never suspended: it already blocks.
    """
    if kind not in GO_KINDS:
        return None
    waivers = list(waivers)
    for c in conditions:
        if c.get("outcome") == Outcome.FAILED and c.get("key"):
            return (
                SuspensionReason.KEY_CONDITION_FAILED,
                f"key condition failed: {_condition_text(c)}",
                None,
            )
    expired = expired_waiver(waivers, today=today)
    live = [w for w in waivers if w.expires >= today]
    covered_conditions = {w.condition_id for w in live if w.condition_id}
    covered_items = {w.checklist_item_id for w in live if w.checklist_item_id}
    uncovered = [
        _condition_text(c)
        for c in conditions
        if c.get("outcome") == Outcome.FAILED and c.get("condition") not in covered_conditions
    ] + [
        f"checklist '{i.get('text')}' not signed"
        for i in checklist
        if i.get("outcome") == Outcome.FAILED and i.get("item") not in covered_items
    ]
    if uncovered:
        return (SuspensionReason.UNCOVERED_FAILURE, f"failure not covered by a waiver: {uncovered[0]}", None)
    if expired is not None:
        return (
            SuspensionReason.WAIVER_EXPIRED,
            f"waiver expired on {expired.expires}: {expired.subject}",
            expired,
        )
    return None


def _condition_text(c: dict) -> str:
    ops = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "="}
    value = "no data" if c.get("value") is None else f"{c['value']:g}"
    return f"{c.get('metric')} {ops.get(c.get('operator'), c.get('operator'))} {c.get('error_threshold'):g} (was {value})"


def gates_guarding(*, project_id: int, from_status: str, to_status: str) -> list[QualityGate]:
    """The project's active gates guarding the move from_status -> to_status, in gate order."""
    return list(
        QualityGate.objects.filter(
            project_id=project_id, is_active=True, from_status=from_status, to_status=to_status
        ).order_by("order", "id")
    )


def current_gates_by_release(*, releases: Iterable[Release]) -> dict[int, list[QualityGate]]:
    """For each release, the active gates guarding its next move (none at the end of the lifecycle). One query."""
    releases = list(releases)
    out: dict[int, list[QualityGate]] = {r.pk: [] for r in releases}
    moves = {(r.project_id, r.status, NEXT_STATUS[r.status]) for r in releases if r.status in NEXT_STATUS}
    if not moves:
        return out
    match = Q()
    for project_id, source, target in moves:
        match |= Q(project_id=project_id, from_status=source, to_status=target)
    gates = list(QualityGate.objects.filter(match, is_active=True).order_by("order", "id"))
    for release in releases:
        target = NEXT_STATUS.get(release.status)
        out[release.pk] = [
            g
            for g in gates
            if g.project_id == release.project_id
            and g.from_status == release.status
            and g.to_status == target
        ]
    return out


def current_gates(*, release: Release) -> list[QualityGate]:
    """The active gates guarding the release's next move."""
    return current_gates_by_release(releases=[release])[release.pk]


def _latest_decisions(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Decision]:
    """The latest (not superseded) decision of each (release id, gate id) pair, waivers and suspension loaded."""
    if not pairs:
        return {}
    match = Q()
    for release_id, gate_id in pairs:
        match |= Q(release_id=release_id, gate_id=gate_id)
    decisions = (
        Decision.objects.filter(match, superseded_by__isnull=True)
        .select_related("decided_by", "suspension", "evaluation")
        .prefetch_related(
            Prefetch("waivers", queryset=Waiver.objects.select_related("owner").order_by("expires", "id"))
        )
        .order_by("-decided_at", "-id")
    )
    out: dict[tuple[int, int], Decision] = {}
    for d in decisions:
        out.setdefault((d.release_id, d.gate_id), d)
    return out


def verdict_of(*, gate: QualityGate, decision: Decision | None, today: dt.date | None = None) -> Verdict:
    """How a decision stands: none, no-go, suspended (stored, or a waiver found expired on read), or in force."""
    today = today or _today()
    label = f"gate '{gate.name}'"
    if decision is None:
        return Verdict(gate, None, DecisionState.NONE, f"{label} has no go decision recorded")
    waivers = list(decision.waivers.all())
    who = f"{decision.decided_by.get_username()} at {decision.decided_at:%Y-%m-%d %H:%M} UTC"
    if decision.decision == DecisionKind.NO_GO:
        return Verdict(
            gate, decision, DecisionState.NO_GO, f"{label}: a no-go is in force ({who})", None, waivers
        )
    suspension = getattr(decision, "suspension", None) if _has_suspension(decision) else None
    if suspension is not None:
        return Verdict(
            gate,
            decision,
            DecisionState.SUSPENDED,
            f"{label}: the {decision.get_decision_display().lower()} decision ({who}) is suspended: {suspension.detail}",
            suspension.reason,
            waivers,
        )
    expired = expired_waiver(waivers, today=today)
    if expired is not None:
        # Noticed on read: the beat task stores the suspension and notifies, but a reader never waits for it.
        return Verdict(
            gate,
            decision,
            DecisionState.SUSPENDED,
            f"{label}: the {decision.get_decision_display().lower()} decision ({who}) is suspended: waiver expired "
            f"on {expired.expires}: {expired.subject}",
            SuspensionReason.WAIVER_EXPIRED,
            waivers,
        )
    return Verdict(gate, decision, DecisionState.IN_FORCE, "", None, waivers)


def _has_suspension(decision: Decision) -> bool:
    try:
        decision.suspension  # noqa: B018 - loaded by select_related; raises when there is none
    except Decision.suspension.RelatedObjectDoesNotExist:
        return False
    return True


def verdicts_for(*, pairs: Iterable[tuple[Release, QualityGate]]) -> dict[tuple[int, int], Verdict]:
    """The verdict of every (release, gate) pair, in one query for the decisions and one for their waivers."""
    pairs = list(pairs)
    decisions = _latest_decisions({(r.pk, g.pk) for r, g in pairs})
    today = _today()
    return {
        (r.pk, g.pk): verdict_of(gate=g, decision=decisions.get((r.pk, g.pk)), today=today) for r, g in pairs
    }


def move_verdicts(*, release: Release, to_status: str, from_status: str | None = None) -> list[Verdict]:
    """The verdict of each gate guarding the release's move from its status (or `from_status`) to `to_status`
    (empty: the move is not guarded)."""
    source = from_status or release.status
    gates = gates_guarding(project_id=release.project_id, from_status=source, to_status=to_status)
    found = verdicts_for(pairs=[(release, g) for g in gates])
    return [found[(release.pk, g.pk)] for g in gates]


def evaluation_is_stale(*, evaluation: GateEvaluation | None, watermark: dt.datetime | None) -> bool:
    """Stale while newer evidence exists: the release's evidence watermark (metrics.EvidenceWatermark, the one
    source of truth) is later than the watermark the evaluation saw."""
    if evaluation is None or watermark is None:
        return False
    return evaluation.evidence_at is None or evaluation.evidence_at < watermark
