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


def _log_and_tell(message: str, facts: dict, tell) -> None:
    logger.info(message + ": " + " ".join(f"{name}=%s" for name in facts), *facts.values())
    tell()


def evaluation_failed(evaluation: GateEvaluation) -> None:
    facts = {"gate": evaluation.gate_id, "release": evaluation.release_id, "evaluation": evaluation.pk}
    facts["via"] = evaluation.requested_via
    _log_and_tell("gate evaluation failed", facts, lambda: notices.gate_failed(evaluation=evaluation))


def no_go_recorded(decision: Decision) -> None:
    facts = {"gate": decision.gate_id, "release": decision.release_id, "decision": decision.pk}
    facts["by"] = decision.decided_by_id
    _log_and_tell("no-go recorded", facts, lambda: notices.no_go_recorded(decision=decision))


def decision_suspended(suspension: DecisionSuspension) -> None:
    facts = {"decision": suspension.decision_id, "reason": suspension.reason, "detail": suspension.detail}
    _log_and_tell("decision suspended", facts, lambda: notices.decision_suspended(suspension=suspension))


def announce(event, record) -> None:
    """Call ``event(record)`` after the surrounding transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: event(record))
