"""Writes for gates, one module per job; every function that changes a governance record also writes its
AuditEvent row, so no caller can forget it. How a condition is judged is in ``gates.rules``.

* ``definitions``: create and change gates (and a new project's default gates);
* ``signoffs``: sign checklist items off and revoke sign-offs;
* ``evaluation``: evaluate a gate for a release, freshness of an evaluation, scheduled evaluations;
* ``decisions``: the decision rules, waivers and recording a go/no-go decision;
* ``suspension``: suspending a go decision the evidence no longer supports, and expiring waivers (beat);
* ``live``: re-evaluating a release's current gates after its evidence changed (after the metric recompute);
* ``events``: the events people are told about (evaluation failed, no-go recorded, decision suspended);
* ``audit``: the audit log row every write appends.
"""

from .audit import audit_record
from .decisions import decision_check, decision_record, evaluation_failures, user_can_decide
from .definitions import gate_create, gate_definition, gate_update, gates_create_defaults
from .evaluation import (
    FRESH_MINUTES,
    evaluation_is_fresh,
    gate_evaluate,
    gates_evaluate_scheduled,
)
from .live import reevaluate_current_gates
from .signoffs import signoff_create, signoff_revoke
from .suspension import expire_waivers, suspend_decisions_for

__all__ = [
    "FRESH_MINUTES",
    "audit_record",
    "decision_check",
    "decision_record",
    "evaluation_failures",
    "evaluation_is_fresh",
    "expire_waivers",
    "gate_create",
    "gate_definition",
    "gate_evaluate",
    "gate_update",
    "gates_create_defaults",
    "gates_evaluate_scheduled",
    "reevaluate_current_gates",
    "signoff_create",
    "signoff_revoke",
    "suspend_decisions_for",
    "user_can_decide",
]
