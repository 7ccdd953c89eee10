"""The governance events people are told about, one small function each, called once the change is committed.

Each function receives the stored record and runs after the transaction that wrote it commits (so a rolled-back
change announces nothing). Each event is written to the ``qualitygov.gates.events`` log and handed to
``gates.notices``, which tells the people concerned (e-mail, in-app, the project's webhooks).

* ``evaluation_failed(evaluation)``: a gate evaluation turned failed (the previous one of that gate and release
  was not failed, or there was none);
* ``no_go_recorded(decision)``: a no-go decision was recorded;
* ``decision_suspended(suspension)``: a go / go-with-waivers decision was suspended (the reason is stored on it).
"""

import logging

from django.db import transaction

from .. import notices
from ..models import Decision, DecisionSuspension, GateEvaluation

logger = logging.getLogger("qualitygov.gates.events")


def evaluation_failed(evaluation: GateEvaluation) -> None:
    logger.info(
        "gate evaluation failed: gate=%s release=%s evaluation=%s via=%s",
        evaluation.gate_id,
        evaluation.release_id,
        evaluation.pk,
        evaluation.requested_via,
    )
    notices.gate_failed(evaluation=evaluation)


def no_go_recorded(decision: Decision) -> None:
    logger.info(
        "no-go recorded: gate=%s release=%s decision=%s by=%s",
        decision.gate_id,
        decision.release_id,
        decision.pk,
        decision.decided_by_id,
    )
    notices.no_go_recorded(decision=decision)


def decision_suspended(suspension: DecisionSuspension) -> None:
    logger.info(
        "decision suspended: decision=%s reason=%s detail=%s",
        suspension.decision_id,
        suspension.reason,
        suspension.detail,
    )
    notices.decision_suspended(suspension=suspension)


def announce(event, record) -> None:
    """Call ``event(record)`` after the surrounding transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: event(record))
