"""Gate evaluations: judge a gate for a release from fresh metric values, decide whether an evaluation is still
fresh enough to decide on, and evaluate every scheduled gate (beat)."""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from defects.models import DefectTransition
from metrics import services as metric_services
from metrics.registry import definitions_for
from metrics.selectors import evidence_watermarks
from qualitygov.errors import DomainError
from releases.access import Action, authorize
from releases.models import Release
from testing.models import TestRun

from .. import selectors
from ..models import ChecklistSignoff, EvaluationStatus, GateEvaluation, Outcome, QualityGate
from ..rules import condition_outcome, overall_status
from . import events
from .audit import audit_record
from .definitions import check_release_in_gate_project, gate_definition
from .suspension import suspend_decisions_for

logger = logging.getLogger(__name__)

# An evaluation older than this is never reused for a decision (see evaluation_is_fresh).
FRESH_MINUTES: int = getattr(settings, "QUALITYGOV_EVALUATION_FRESH_MINUTES", 10)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def release_watermark(release_id: int) -> dt.datetime | None:
    """When the release's evidence last changed (metrics' evidence watermark), or None if it never did."""
    return evidence_watermarks(release_ids=[release_id]).get(("release", release_id))


@transaction.atomic
def gate_evaluate(
    *, gate: QualityGate, release: Release, by, via: str = "browser", suspend: bool = True
) -> GateEvaluation:
    """Evaluate a gate for a release from fresh metric values and store everything the outcome rests on.

    The evaluation stores the evidence watermark it saw (read before the evidence, so evidence arriving meanwhile
    marks it stale). With ``suspend`` (always, except for the evaluation a new decision is about to rest on) a go
    decision in force that the result contradicts is suspended (``suspension.suspend_decisions_for``). A result
    that turned failed is announced (``events.evaluation_failed``).

    ``by`` needs EVALUATE_GATES in the project; None is the system (the scheduler, a sign-off's or an evidence
    change's follow-up), written out by those callers.
    Each stored condition holds {condition, metric, label, unit, operator, value, n, error_threshold,
    warn_threshold, change_class, thresholds_from, key, missing_data, no_data, outcome}; the thresholds are
    those of the release's change class where the condition gives that class its own pair ("thresholds_from"
    names the class), else the condition's default pair ("default"); each checklist entry the item, its role and
    sign-off (who, when, comment) with outcome passed (signed) or failed (unsigned).
    """
    authorize(by, gate.project, Action.EVALUATE_GATES)
    check_release_in_gate_project(gate=gate, release=release)
    # Read the watermark before the evidence, so evidence arriving during the evaluation marks it stale.
    evidence_at = release_watermark(release.pk)
    before = (
        GateEvaluation.objects.filter(gate=gate, release=release)
        .order_by("-created_at", "-id")
        .values_list("status", flat=True)
        .first()
    )
    conditions = list(gate.conditions.all())
    items = list(gate.checklist_items.all())
    # A key the registry no longer knows has no value: the condition's missing-data policy then decides.
    registry = definitions_for(gate.project)
    keys = sorted({c.metric for c in conditions if c.metric in registry})
    results = metric_services.compute_for_release(release=release, keys=keys) if keys else {}

    condition_rows = []
    for c in conditions:
        result = results.get(c.metric)
        value = _round(getattr(result, "value", None))
        metric_def = registry.get(c.metric)
        # The release's change class picks the condition's thresholds (its own pair, else the default).
        error_threshold, warn_threshold, thresholds_from = c.thresholds_for(release.change_class)
        condition_rows.append(
            {
                "condition": c.pk,
                "metric": c.metric,
                "label": getattr(metric_def, "label", c.metric),
                "unit": getattr(metric_def, "unit", ""),
                "operator": c.operator,
                "value": value,
                "n": getattr(result, "n", 0) or 0,
                "error_threshold": error_threshold,
                "warn_threshold": warn_threshold,
                "change_class": release.change_class,
                "thresholds_from": thresholds_from,
                "key": c.key,
                "missing_data": c.missing_data,
                "no_data": value is None,
                "outcome": condition_outcome(
                    operator=c.operator,
                    value=value,
                    error_threshold=error_threshold,
                    warn_threshold=warn_threshold,
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
        evidence_at=evidence_at,
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
    if status == EvaluationStatus.FAILED and before != EvaluationStatus.FAILED:
        events.announce(events.evaluation_failed, evaluation)
    if suspend:
        suspend_decisions_for(evaluation)
    return evaluation


def evaluation_is_fresh(*, evaluation: GateEvaluation, now: dt.datetime | None = None) -> bool:
    """An evaluation is fresh enough to decide on when all of these hold:

    * it is the latest evaluation of its gate and release,
    * it is younger than FRESH_MINUTES (settings.QUALITYGOV_EVALUATION_FRESH_MINUTES, default 10),
    * the gate's revision is the one it evaluated,
    * no checklist sign-off of the gate was made or revoked for the release since,
    * no defect of the release moved and no test run of the release was recorded since,
    * the release's evidence watermark is not newer than the one it saw (it is not stale).
    Anything else is stale, and a decision re-evaluates the gate before it is recorded.
    """
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
    watermark = release_watermark(release_id)
    if watermark is not None and (evaluation.evidence_at is None or evaluation.evidence_at < watermark):
        return False  # newer evidence exists (the evaluation is stale)
    signoffs = ChecklistSignoff.objects.filter(item__gate=gate, release_id=release_id)
    if signoffs.filter(signed_at__gt=since).exists() or signoffs.filter(revoked_at__gt=since).exists():
        return False
    if DefectTransition.objects.filter(defect__found_in_release_id=release_id, at__gt=since).exists():
        return False
    return not TestRun.objects.filter(release_id=release_id, created_at__gt=since).exists()


def gates_evaluate_scheduled(*, on_each=None) -> int:
    """Evaluate every active, scheduled gate for every active release of its project; returns how many.

    Each evaluation commits on its own, and one that is refused (a DomainError, e.g. a metric the registry
    rejects) is logged and skipped so the others still run; anything else propagates (the task fails loudly).
    `on_each()` is called after every pair, evaluated or refused (progress bars).
    """
    count = 0
    for gate, release in selectors.scheduled_gate_pairs():
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
