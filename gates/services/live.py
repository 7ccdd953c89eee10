"""Live evaluation (metrics.md, "Decisions stay true to the evidence"): after a change of a release's evidence,
its current gates (those guarding its next move) are re-evaluated.

Every change of evidence goes through ``metrics.services.schedule_recompute``, which moves the release's evidence
watermark and queues a coalesced recompute. Gates register ``reevaluate_current_gates`` to run right after the
release's recompute in that same queue (GatesConfig.ready), so with a worker it lands with the recompute and in
embedded (eager) mode before the response returns. One runs at a time per release (a lock row), and a gate whose
latest evaluation already saw the current watermark is not evaluated again, so a burst of changes costs one
evaluation per gate.
"""

import logging

from django.db import transaction

from metrics import services as metric_services
from qualitygov.errors import DomainError
from releases.models import Release

from .. import selectors
from ..models import GateEvaluation
from ..verdicts import current_gates, evaluation_is_stale
from .evaluation import gate_evaluate, release_watermark

logger = logging.getLogger(__name__)


def reevaluate_current_gates(release: Release) -> list[GateEvaluation]:
    """Evaluate each current gate of the release whose latest evaluation is missing or stale; returns the new
    evaluations. A gate the evaluation refuses (DomainError) is logged and skipped; the others still run."""
    done: list[GateEvaluation] = []
    with transaction.atomic():
        metric_services.hold_lock(f"gates:release:{release.pk}")
        release = Release.objects.select_related("project").get(pk=release.pk)
        gates = current_gates(release=release)
        if not gates:
            return done
        watermark = release_watermark(release.pk)
        latest = {
            e.gate_id: e
            for e in selectors.latest_evaluations(release_ids=[release.pk], gate_ids=[g.pk for g in gates])
        }
        for gate in gates:
            evaluation = latest.get(gate.pk)
            if evaluation is not None and not evaluation_is_stale(evaluation=evaluation, watermark=watermark):
                continue
            try:
                done.append(gate_evaluate(gate=gate, release=release, by=None, via="live"))
            except DomainError as exc:
                logger.warning(
                    "Live evaluation of gate %s for release %s refused: %s", gate.pk, release.pk, exc.message
                )
    return done
