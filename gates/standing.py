"""Where each release stands at its current gates: the gates guarding its next move, each gate's latest evaluation
(marked stale while newer evidence exists) and the decision in force (in force, no-go, suspended and why, none).

One read model for every page and API that shows a gate status (portfolio, project and release dashboards, the
release page, the gates pages, the readiness report, the verdict API), in a fixed number of queries whatever the
number of releases: the current gates, their latest evaluations (with the releases' evidence watermarks joined in),
the latest decisions with their suspensions, and the decisions' waivers.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from metrics.selectors import release_watermark_subquery
from releases.models import Release, ReleaseStatus

from .models import GateEvaluation, QualityGate
from .verdicts import DecisionState, Verdict, current_gates_by_release, verdicts_for

STATUS_RANK = {"passed": 0, "warned": 1, "failed": 2}

DECISION_LABELS = {
    DecisionState.NONE: "no decision",
    DecisionState.IN_FORCE: "in force",
    DecisionState.NO_GO: "no-go in force",
    DecisionState.SUSPENDED: "suspended",
}


@dataclass
class GateStanding:
    """One current gate of one release."""

    gate: QualityGate
    evaluation: GateEvaluation | None
    stale: bool
    verdict: Verdict

    @property
    def status(self) -> str | None:
        return self.evaluation.status if self.evaluation else None

    @property
    def decision(self):
        return self.verdict.decision

    @property
    def decision_state(self) -> str:
        return self.verdict.state

    @property
    def decision_label(self) -> str:
        return DECISION_LABELS[self.verdict.state]

    @property
    def permits(self) -> bool:
        return self.verdict.permits


def _latest_evaluations(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], GateEvaluation]:
    """The latest evaluation of each (release id, gate id) pair, with the release's evidence watermark as
    ``watermark`` (one query)."""
    if not pairs:
        return {}
    ranked = (
        GateEvaluation.objects.filter(release_id__in={r for r, _ in pairs}, gate_id__in={g for _, g in pairs})
        .select_related("requested_by")
        .annotate(
            watermark=release_watermark_subquery(),
            rank=Window(
                expression=RowNumber(),
                partition_by=[F("gate_id"), F("release_id")],
                order_by=[F("created_at").desc(), F("id").desc()],
            ),
        )
        .filter(rank=1)
    )
    return {(e.release_id, e.gate_id): e for e in ranked if (e.release_id, e.gate_id) in pairs}


def is_stale(evaluation: GateEvaluation | None) -> bool:
    """Stale while newer evidence exists (an evaluation annotated with its release's ``watermark``)."""
    if evaluation is None:
        return False
    watermark = getattr(evaluation, "watermark", None)
    if watermark is None:
        return False
    return evaluation.evidence_at is None or evaluation.evidence_at < watermark


def standings_by_release(*, releases: Iterable[Release]) -> dict[int, list[GateStanding]]:
    """{release id: [GateStanding of each current gate, in gate order]} (empty list: no next move guarded)."""
    releases = list(releases)
    current = current_gates_by_release(releases=releases)
    pairs = [(r, g) for r in releases for g in current[r.pk]]
    keys = {(r.pk, g.pk) for r, g in pairs}
    evaluations = _latest_evaluations(keys)
    verdicts = verdicts_for(pairs=pairs)
    out: dict[int, list[GateStanding]] = {r.pk: [] for r in releases}
    for release, gate in pairs:
        evaluation = evaluations.get((release.pk, gate.pk))
        out[release.pk].append(
            GateStanding(
                gate=gate,
                evaluation=evaluation,
                stale=is_stale(evaluation),
                verdict=verdicts[(release.pk, gate.pk)],
            )
        )
    return out


def next_move_label(release: Release) -> str:
    """ "Ready → Released" for a release with a next move, else an empty string."""
    target = release.next_status
    if target is None:
        return ""
    return f"{ReleaseStatus(release.status).label} → {ReleaseStatus(target).label}"


def summary(*, release: Release, standings: list[GateStanding]) -> dict:
    """A release's gate summary for tables and headers.

    {"status": worst status of the current gates' latest evaluations (None when none is evaluated),
     "gate": the name of the worst gate (else the first current gate), "evaluated_at": latest evaluation time,
     "stale": any latest evaluation stale, "move": "Ready → Released", "may_move": every current gate permits,
     "decision_state": the most blocking state among the current gates, "gates": [per gate: gate_id, name,
     status, evaluated_at, evaluation_id, stale, decision_state, decision_label, decision_reason, decision]}.
    """
    out = {
        "status": None,
        "gate": standings[0].gate.name if standings else None,
        "evaluated_at": None,
        "stale": False,
        "move": next_move_label(release),
        "may_move": bool(standings) and all(s.permits for s in standings),
        "decision_state": None,
        "gates": [],
    }
    order = [DecisionState.IN_FORCE, DecisionState.NONE, DecisionState.SUSPENDED, DecisionState.NO_GO]
    for s in standings:
        e = s.evaluation
        out["gates"].append(
            {
                "gate_id": s.gate.pk,
                "name": s.gate.name,
                "status": s.status,
                "evaluated_at": e.created_at if e else None,
                "evaluation_id": e.pk if e else None,
                "stale": s.stale,
                "decision_state": s.decision_state,
                "decision_label": s.decision_label,
                "decision_reason": s.verdict.reason,
                "decision": s.decision,
            }
        )
        out["stale"] = out["stale"] or s.stale
        if out["decision_state"] is None or order.index(s.decision_state) > order.index(
            out["decision_state"]
        ):
            out["decision_state"] = s.decision_state
        if e is None:
            continue
        if out["status"] is None or STATUS_RANK[e.status] > STATUS_RANK[out["status"]]:
            out["status"], out["gate"] = e.status, s.gate.name
        if out["evaluated_at"] is None or e.created_at > out["evaluated_at"]:
            out["evaluated_at"] = e.created_at
    out["decision_label"] = DECISION_LABELS.get(out["decision_state"], "")
    return out


def summaries_by_release(*, releases: Iterable[Release]) -> dict[int, dict]:
    """{release id: summary(...)} for many releases, in the fixed number of queries of standings_by_release."""
    releases = list(releases)
    standings = standings_by_release(releases=releases)
    return {r.pk: summary(release=r, standings=standings[r.pk]) for r in releases}


def new_decision_must_cover(
    *, verdict: Verdict, evaluation: GateEvaluation | None, fresh: bool, failures: list[dict]
) -> list[str]:
    """What a new decision at this gate must cover, in words, for the decide page (the rules are enforced by
    gates.services.decisions; this only explains them for the evaluation at hand and the decision in force)."""
    lines: list[str] = []
    if verdict.state == DecisionState.SUSPENDED:
        lines.append(
            f"The {verdict.decision.get_decision_display().lower()} decision is suspended ({verdict.reason.split(': ', 1)[-1]}); "
            "it permits nothing until a new decision supersedes it."
        )
    elif verdict.state == DecisionState.NO_GO:
        lines.append("A no-go is in force; a new go (or go with waivers) decision supersedes it.")
    elif verdict.state == DecisionState.IN_FORCE:
        lines.append("A go decision is in force; a new decision supersedes it.")
    if evaluation is None or not fresh:
        lines.append(
            "The latest evaluation is not fresh (newer evidence, a newer evaluation, a gate edit or age): the decision "
            "re-evaluates the gate first and rests on that result."
        )
    if evaluation is None:
        return lines
    key = [f["subject"] for f in failures if f["key"]]
    other = [f["subject"] for f in failures if not f["key"]]
    if key:
        lines.append(
            "Failed key condition(s) cannot be waived: "
            + "; ".join(key)
            + ". Only a no-go can be recorded until the evidence changes."
        )
    elif other:
        lines.append(
            "'Go' needs a passed or warned evaluation. 'Go with waivers' needs one waiver (justification, owner, "
            "expiry date in the future) for each failure: " + "; ".join(other) + "."
        )
    else:
        lines.append("The evaluation has no failure: 'go' can be recorded; waivers are not needed.")
    lines.append(
        "A later evaluation that fails a key condition or anything its waivers do not cover, or a waiver that "
        "expires, suspends the new decision."
    )
    return lines


def _evaluation_payload(evaluation: GateEvaluation | None, stale: bool) -> dict | None:
    if evaluation is None:
        return None
    return {
        "id": evaluation.pk,
        "status": evaluation.status,
        "created_at": evaluation.created_at,
        "evidence_at": evaluation.evidence_at,
        "stale": stale,
    }


def _decision_payload(verdict: Verdict, today) -> dict | None:
    d = verdict.decision
    if d is None:
        return None
    stored = getattr(d, "suspension", None) if verdict.state == DecisionState.SUSPENDED else None
    suspension = None
    if verdict.state == DecisionState.SUSPENDED:
        suspension = {
            "reason": verdict.suspension_reason,
            "detail": stored.detail if stored is not None else verdict.reason.split("is suspended: ", 1)[-1],
            "at": stored.at if stored is not None else None,
        }
    return {
        "id": d.pk,
        "kind": d.decision,
        "by": d.decided_by.get_username(),
        "at": d.decided_at,
        "rationale": d.rationale,
        "evaluation": d.evaluation_id,
        "waivers": [
            {
                "id": w.pk,
                "subject": w.subject,
                "owner": w.owner.get_username(),
                "expires": w.expires,
                "expired": w.expires < today,
            }
            for w in verdict.waivers
        ],
        "suspended": verdict.state == DecisionState.SUSPENDED,
        "suspension": suspension,
        # What the decider saw beside the decision: the economics of go/no-go (metrics.md, issue 18).
        "economics": d.economics or None,
    }


def gate_verdict(*, release: Release, gate: QualityGate) -> dict:
    """The verdict API's answer for one gate: latest evaluation (stale or not), the decision in force (kind, by,
    when, waivers, suspended or not and why) and whether it permits the move the gate guards."""
    evaluation = _latest_evaluations({(release.pk, gate.pk)}).get((release.pk, gate.pk))
    verdict = verdicts_for(pairs=[(release, gate)])[(release.pk, gate.pk)]
    stale = is_stale(evaluation)
    return _gate_payload(release, gate, evaluation, stale, verdict, timezone.now().date())


def _gate_payload(release, gate, evaluation, stale, verdict, today) -> dict:
    return {
        "release": release.pk,
        "gate": gate.pk,
        "gate_name": gate.name,
        "guards": {"from": gate.from_status, "to": gate.to_status},
        "current": gate.from_status == release.status and gate.to_status == release.next_status,
        "evaluation": _evaluation_payload(evaluation, stale),
        "decision": _decision_payload(verdict, today),
        "state": verdict.state,
        "permits": verdict.permits,
        "reason": verdict.reason,
        "pending": stale,
    }


def release_verdict(*, release: Release) -> dict:
    """The deploy check's answer: each current gate's verdict, and whether the release may make its next move
    (every gate guarding it has a go decision in force; an unguarded move may always be made)."""
    today = timezone.now().date()
    standings = standings_by_release(releases=[release])[release.pk]
    gates = [_gate_payload(release, s.gate, s.evaluation, s.stale, s.verdict, today) for s in standings]
    target = release.next_status
    if target is None:
        reason = f"Release {release.version} is {release.status}: it has no next move."
    else:
        reason = "; ".join(g["reason"] for g in gates if not g["permits"])
    return {
        "release": release.pk,
        "version": release.version,
        "status": release.status,
        "next_status": target,
        "may_move": target is not None and all(g["permits"] for g in gates),
        "pending": any(g["pending"] for g in gates),
        "reason": reason,
        "gates": gates,
    }
