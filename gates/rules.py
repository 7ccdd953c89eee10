"""How one gate condition is judged: pure functions, no database.

The rule (also in docs/contract.md, "How a condition is judged"):

* A condition holds when ``value OP threshold`` is true, OP being one of lt, lte, gt, gte, eq.
* ``failed``  when the value does not satisfy the *error* threshold: ``not (value OP error_threshold)``.
* ``warned``  when it satisfies the error threshold but not the *warn* threshold (only if one is set):
  ``not (value OP warn_threshold)``.
* ``passed``  otherwise.
* The warn threshold must be at least as strict as the error threshold (for lt/lte a warn threshold
  <= the error threshold, for gt/gte one >= it); ``eq`` takes no warn threshold. Example:
  ``test_pass_rate gte 95 warn 98`` fails below 95, warns from 95 up to (not including) 98, passes at 98+.
* No value (``None``, the metric has no data): the missing-data policy decides: ``fail`` -> ``failed``,
  ``warn`` -> ``warned``, ``ignore`` -> ``no_data``, which does not count towards the overall status.
* Overall status of an evaluation: ``failed`` if any condition or checklist item failed, else ``warned``
  if any warned, else ``passed``. An unsigned checklist item is failed.
"""

import math
import operator as op

from .models import EvaluationStatus, MissingData, Operator, Outcome

OPERATORS = {
    Operator.LT: op.lt,
    Operator.LTE: op.le,
    Operator.GT: op.gt,
    Operator.GTE: op.ge,
    # Metric values are floats: equality is judged to 1e-9 so 95.0 == 95 and 0.1 + 0.2 == 0.3 hold.
    Operator.EQ: lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9),
}


def holds(*, operator: str, value: float, threshold: float) -> bool:
    """True when ``value OP threshold``."""
    return bool(OPERATORS[Operator(operator)](value, threshold))


def condition_outcome(
    *,
    operator: str,
    value: float | None,
    error_threshold: float,
    warn_threshold: float | None,
    missing_data: str,
) -> str:
    """The outcome of one condition for one value, by the rule in this module's docstring."""
    if value is None:
        return {
            MissingData.FAIL: Outcome.FAILED,
            MissingData.WARN: Outcome.WARNED,
            MissingData.IGNORE: Outcome.NO_DATA,
        }[MissingData(missing_data)].value
    if not holds(operator=operator, value=value, threshold=error_threshold):
        return Outcome.FAILED.value
    if warn_threshold is not None and not holds(operator=operator, value=value, threshold=warn_threshold):
        return Outcome.WARNED.value
    return Outcome.PASSED.value


def overall_status(outcomes) -> str:
    """failed if any outcome failed, else warned if any warned, else passed (no_data does not count)."""
    outcomes = list(outcomes)
    if Outcome.FAILED in outcomes:
        return EvaluationStatus.FAILED.value
    if Outcome.WARNED in outcomes:
        return EvaluationStatus.WARNED.value
    return EvaluationStatus.PASSED.value


def threshold_problem(*, operator: str, error_threshold: float, warn_threshold: float | None) -> str | None:
    """A message when the thresholds make no sense together, else None."""
    if warn_threshold is None:
        return None
    operator = Operator(operator)
    if operator == Operator.EQ:
        return "An 'eq' condition takes no warn threshold."
    if operator in (Operator.LT, Operator.LTE) and warn_threshold > error_threshold:
        return (
            f"With '{operator.value}' the warn threshold ({warn_threshold:g}) must not be above the error "
            f"threshold ({error_threshold:g}): it is the stricter bound."
        )
    if operator in (Operator.GT, Operator.GTE) and warn_threshold < error_threshold:
        return (
            f"With '{operator.value}' the warn threshold ({warn_threshold:g}) must not be below the error "
            f"threshold ({error_threshold:g}): it is the stricter bound."
        )
    return None
