"""The contract's condition judgement, operator by operator, threshold by threshold."""

import pytest

from gates.rules import condition_outcome, overall_status, threshold_problem


@pytest.mark.parametrize(
    ("operator", "value", "error", "warn", "expected"),
    [
        # gte with a warn threshold: fails below error, warns between, passes at or above warn
        ("gte", 90.0, 95, 98, "failed"),
        ("gte", 95.0, 95, 98, "warned"),
        ("gte", 97.9, 95, 98, "warned"),
        ("gte", 98.0, 95, 98, "passed"),
        ("gte", 100.0, 95, None, "passed"),
        # gt is strict at both bounds
        ("gt", 95.0, 95, 98, "failed"),
        ("gt", 98.0, 95, 98, "warned"),
        ("gt", 98.1, 95, 98, "passed"),
        # lte: lower is better
        ("lte", 11.0, 10, 5, "failed"),
        ("lte", 10.0, 10, 5, "warned"),
        ("lte", 5.0, 10, 5, "passed"),
        ("lte", 0.0, 0, None, "passed"),
        ("lte", 1.0, 0, None, "failed"),
        # lt is strict
        ("lt", 50.0, 50, 25, "failed"),
        ("lt", 25.0, 50, 25, "warned"),
        ("lt", 24.9, 50, 25, "passed"),
        # eq, with float tolerance
        ("eq", 0.0, 0, None, "passed"),
        ("eq", 0.1 + 0.2, 0.3, None, "passed"),
        ("eq", 1.0, 0, None, "failed"),
    ],
)
def test_condition_outcome_follows_error_then_warn_threshold(operator, value, error, warn, expected):
    # given a value and thresholds / when judged / then the documented rule decides
    assert (
        condition_outcome(
            operator=operator, value=value, error_threshold=error, warn_threshold=warn, missing_data="fail"
        )
        == expected
    )


@pytest.mark.parametrize(
    ("policy", "expected"), [("fail", "failed"), ("warn", "warned"), ("ignore", "no_data")]
)
def test_missing_value_is_judged_by_the_missing_data_policy(policy, expected):
    # given no value / when judged / then the policy decides, never a pass
    assert (
        condition_outcome(
            operator="gte", value=None, error_threshold=95, warn_threshold=98, missing_data=policy
        )
        == expected
    )


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["passed", "warned", "failed"], "failed"),
        (["passed", "warned", "no_data"], "warned"),
        (["passed", "no_data"], "passed"),
        (["no_data"], "passed"),
        ([], "passed"),
        (["failed", "no_data"], "failed"),
    ],
)
def test_overall_status_is_the_worst_counted_outcome(outcomes, expected):
    assert overall_status(outcomes) == expected


@pytest.mark.parametrize(
    ("operator", "error", "warn", "ok"),
    [
        ("gte", 95, 98, True),
        ("gte", 95, 90, False),
        ("gt", 95, 95, True),
        ("lte", 10, 5, True),
        ("lte", 10, 12, False),
        ("lt", 50, 60, False),
        ("eq", 0, 0, False),
        ("eq", 0, None, True),
        ("lte", 10, None, True),
    ],
)
def test_warn_threshold_must_be_the_stricter_bound(operator, error, warn, ok):
    problem = threshold_problem(operator=operator, error_threshold=error, warn_threshold=warn)
    assert (problem is None) is ok
