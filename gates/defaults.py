"""The three gates every new project starts with (see docs/contract.md, "Default gates of a new project").

They follow the release risk score's default policy in ../shared/docs/metrics.md: where the risk score
classifies an indicator as pass/warn, the "Release candidate -> Production" gate uses the score's warn
bound as its error threshold and the score's pass bound as its warn threshold, so a gate failure always
means the indicator sits in the risk score's "fail" class. Indicators the risk score counts as a warn
when they have no data (reopen rate, flaky rate) warn on missing data here too. "Code complete -> Test"
is looser, "Production -> Operations handover" looks at the project's operational metrics.

Risk by change class (metrics.md, "Risk by change class, and the economics of go/no-go"): the go-live gate asks
more of a `major` release than of a `minor` or `patch` one (the default pair above), and less of a `hotfix`,
whose job is to repair production quickly and whose scope is small. The per-class pairs are in
`class_thresholds` of each condition; `minor` and `patch` use the default pair. The blocking-defect condition is
the same for every class: no release goes live with an open blocker.
"""

from typing import Any

from releases.models import Role


def _condition(metric: str, operator: str, error: float, warn: float | None = None, **extra: Any) -> dict:
    """One condition of a default gate as gate_create takes it (`warn` None: no warn threshold); `extra` holds the
    condition's other fields by their names (missing_data, key, class_thresholds)."""
    condition = {"metric": metric, "operator": operator, "error_threshold": error, **extra}
    if warn is not None:
        condition["warn_threshold"] = warn
    return condition


def _per_class(**pairs: tuple[float, float | None]) -> dict:
    """class_thresholds: the (error, warn) pair of each change class that differs from the default pair."""
    return {name: {"error_threshold": error, "warn_threshold": warn} for name, (error, warn) in pairs.items()}


DEFAULT_GATES: list[dict] = [
    {
        "name": "Code complete -> Test",
        "from_status": "planning",
        "to_status": "testing",
        "description": "Entry to system test: scope covered by tests, no pile of blockers, tests mostly green.",
        "conditions": [
            _condition("blocking_open_defects", "lte", 5, 2),
            _condition("requirement_coverage", "gte", 80, 95),
            _condition("test_pass_rate", "gte", 85, 95, missing_data="warn"),
        ],
        "checklist_items": [
            {"text": "Build deployed to the test environment and smoke-tested", "role": Role.QA},
        ],
    },
    {
        "name": "Release candidate -> Production",
        "from_status": "ready",
        "to_status": "released",
        "description": "Go-live gate: the risk score's indicators with its default pass/warn thresholds.",
        "conditions": [
            _condition("blocking_open_defects", "lte", 0, key=True),
            _condition(
                "test_pass_rate", "gte", 95, 98, class_thresholds=_per_class(hotfix=(90, 95), major=(97, 99))
            ),
            _condition(
                "verified_requirements",
                "gte",
                85,
                95,
                class_thresholds=_per_class(hotfix=(70, 85), major=(90, 98)),
            ),
            # Every high or critical requirement verified; a hotfix may go with a few still open (warned).
            # No such requirement in scope = no data, ignored.
            _condition(
                "verified_critical_requirements",
                "gte",
                95,
                100,
                missing_data="ignore",
                class_thresholds=_per_class(hotfix=(80, 100), major=(100, None)),
            ),
            _condition("reopen_rate", "lte", 10, 5, missing_data="warn"),
            _condition("defect_net_flow_7d", "lte", 5, 0),
            _condition("flaky_test_rate", "lte", 5, 2, missing_data="warn"),
            # The score's bands: high (>= 50) fails, medium (>= 25) warns.
            _condition(
                "release_risk_score",
                "lt",
                50,
                25,
                class_thresholds=_per_class(hotfix=(75, 50), major=(40, 25)),
            ),
            # External evidence: judged only where the release has it (missing data ignored, so a project that
            # uploads no coverage or SARIF is not failed by these).
            _condition(
                "line_coverage",
                "gte",
                80,
                missing_data="ignore",
                class_thresholds=_per_class(hotfix=(70, None), major=(85, None)),
            ),
            _condition("new_findings_high", "lte", 0, missing_data="ignore"),
        ],
        "checklist_items": [
            {"text": "Rollback plan reviewed", "role": Role.RELEASE_MANAGER},
            {"text": "Release notes written and approved", "role": Role.MANAGER},
        ],
    },
    {
        "name": "Production -> Operations handover",
        "from_status": "released",
        "to_status": "handed_over",
        "description": "Hand-over to operations: the project's restore time, change failure rate and stability.",
        "conditions": [
            _condition("mttr_hours", "lte", 24, 4, missing_data="ignore"),
            _condition("change_failure_rate", "lte", 30, 15, missing_data="ignore"),
            _condition("stability_index", "gte", 70, 85, missing_data="warn"),
        ],
        "checklist_items": [
            {"text": "Runbook updated and handed to operations", "role": Role.RELEASE_MANAGER},
            {"text": "Monitoring dashboards and alerts in place", "role": Role.ADMIN},
            {"text": "On-call rota briefed on the release", "role": Role.MANAGER},
        ],
    },
]
