"""The gates' guard on release moves, registered with releases.guards in GatesConfig.ready().

A move guarded by gates is refused unless every active gate guarding it has a `go` or `go_with_waivers` decision
in force (gates.verdicts). No role bypasses it. Refusals and moves are written to the project's audit log.
"""

from django.db import transaction

from releases.guards import Refusal

from .models import AuditEvent
from .verdicts import DecisionState, move_verdicts


def _audit(*, release, action: str, summary: str, actor, data: dict) -> None:
    AuditEvent.objects.create(
        project_id=release.project_id,
        release=release,
        action=action,
        summary=summary[:500],
        data=data,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )


class GateMoveGuard:
    """Refuses a release move whose guarding gates lack a go decision in force."""

    def refusal(self, *, release, from_status: str, to_status: str) -> Refusal | None:
        blocking = [
            v
            for v in move_verdicts(release=release, from_status=from_status, to_status=to_status)
            if not v.permits
        ]
        if not blocking:
            return None
        reasons = "; ".join(v.reason for v in blocking)
        message = (
            f"Release {release.version} cannot move from {from_status} to {to_status}: {reasons}. "
            "Record a go (or go with waivers) decision at every gate guarding this move first."
        )
        return Refusal(
            message=message,
            code="gate_refused",
            details={
                "gates": [
                    {
                        "gate_id": v.gate.pk,
                        "gate": v.gate.name,
                        "state": v.state,
                        "reason": v.reason,
                        "decision_id": v.decision.pk if v.decision else None,
                        "suspension_reason": v.suspension_reason,
                    }
                    for v in blocking
                ]
            },
        )

    def refused(self, *, release, from_status: str, to_status: str, by, refusal: Refusal) -> None:
        with transaction.atomic():
            _audit(
                release=release,
                action="release.move_refused",
                summary=refusal.message,
                actor=by,
                data={"from": from_status, "to": to_status, **refusal.details},
            )

    def moved(self, *, release, from_status: str, to_status: str, by) -> None:
        _audit(
            release=release,
            action="release.moved",
            summary=f"Release {release.version} moved from {from_status} to {to_status}",
            actor=by,
            data={"from": from_status, "to": to_status},
        )


GATE_MOVE_GUARD = GateMoveGuard()

__all__ = ["GATE_MOVE_GUARD", "DecisionState"]
