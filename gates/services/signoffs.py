"""Checklist sign-offs: sign an item off for a release, revoke a sign-off (the row stays, with the reason).

A sign-off or revocation is a change of the release's evidence: it moves the evidence watermark (and queues the
coalesced recompute that re-evaluates the current gates), and the item's gate is evaluated at once, so the gate
card shows the new state without anyone pressing "Evaluate now".
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from metrics import services as metric_services
from qualitygov.errors import AccessDenied, ConflictError, DomainError
from releases.access import has_role
from releases.models import Release, Role

from ..models import ChecklistItem, ChecklistSignoff, QualityGate
from .audit import audit_record
from .definitions import check_release_in_gate_project
from .evaluation import gate_evaluate

logger = logging.getLogger(__name__)


def _checklist_changed(*, gate: QualityGate, release: Release) -> None:
    """The evidence changed: move the watermark (queues the live re-evaluation) and evaluate this gate now."""
    metric_services.schedule_recompute(release_ids=[release.pk])
    try:
        gate_evaluate(gate=gate, release=release, by=None, via="signoff")
    except DomainError as exc:  # a gate the evaluation refuses never undoes the sign-off
        logger.warning("Evaluation of gate %s after a sign-off refused: %s", gate.pk, exc.message)


@transaction.atomic
def signoff_create(*, item: ChecklistItem, release: Release, by, comment: str = "") -> ChecklistSignoff:
    """Sign a checklist item off for a release. Only a user holding the item's role in the project may."""
    gate = item.gate
    check_release_in_gate_project(gate=gate, release=release)
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
    _checklist_changed(gate=gate, release=release)
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
    _checklist_changed(gate=item.gate, release=signoff.release)
    return signoff
