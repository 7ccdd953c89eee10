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

from releases.models import Role

DEFAULT_GATES: list[dict] = [
    {
        "name": "Code complete -> Test",
        "from_status": "planning",
        "to_status": "testing",
        "description": "Entry to system test: scope covered by tests, no pile of blockers, tests mostly green.",
        "conditions": [
            {"metric": "blocking_open_defects", "operator": "lte", "error_threshold": 5, "warn_threshold": 2},
            {
                "metric": "requirement_coverage",
                "operator": "gte",
                "error_threshold": 80,
                "warn_threshold": 95,
            },
            {
                "metric": "test_pass_rate",
                "operator": "gte",
                "error_threshold": 85,
                "warn_threshold": 95,
                "missing_data": "warn",
            },
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
            {"metric": "blocking_open_defects", "operator": "lte", "error_threshold": 0, "key": True},
            {
                "metric": "test_pass_rate",
                "operator": "gte",
                "error_threshold": 95,
                "warn_threshold": 98,
                "class_thresholds": {
                    "hotfix": {"error_threshold": 90, "warn_threshold": 95},
                    "major": {"error_threshold": 97, "warn_threshold": 99},
                },
            },
            {
                "metric": "verified_requirements",
                "operator": "gte",
                "error_threshold": 85,
                "warn_threshold": 95,
                "class_thresholds": {
                    "hotfix": {"error_threshold": 70, "warn_threshold": 85},
                    "major": {"error_threshold": 90, "warn_threshold": 98},
                },
            },
            # Every high or critical requirement verified; a hotfix may go with a few still open (warned).
            # No such requirement in scope = no data, ignored.
            {
                "metric": "verified_critical_requirements",
                "operator": "gte",
                "error_threshold": 95,
                "warn_threshold": 100,
                "missing_data": "ignore",
                "class_thresholds": {
                    "hotfix": {"error_threshold": 80, "warn_threshold": 100},
                    "major": {"error_threshold": 100, "warn_threshold": None},
                },
            },
            {
                "metric": "reopen_rate",
                "operator": "lte",
                "error_threshold": 10,
                "warn_threshold": 5,
                "missing_data": "warn",
            },
            {"metric": "defect_net_flow_7d", "operator": "lte", "error_threshold": 5, "warn_threshold": 0},
            {
                "metric": "flaky_test_rate",
                "operator": "lte",
                "error_threshold": 5,
                "warn_threshold": 2,
                "missing_data": "warn",
            },
            # The score's bands: high (>= 50) fails, medium (>= 25) warns.
            {
                "metric": "release_risk_score",
                "operator": "lt",
                "error_threshold": 50,
                "warn_threshold": 25,
                "class_thresholds": {
                    "hotfix": {"error_threshold": 75, "warn_threshold": 50},
                    "major": {"error_threshold": 40, "warn_threshold": 25},
                },
            },
            # External evidence: judged only where the release has it (missing data ignored, so a project that
            # uploads no coverage or SARIF is not failed by these).
            {
                "metric": "line_coverage",
                "operator": "gte",
                "error_threshold": 80,
                "missing_data": "ignore",
                "class_thresholds": {
                    "hotfix": {"error_threshold": 70, "warn_threshold": None},
                    "major": {"error_threshold": 85, "warn_threshold": None},
                },
            },
            {
                "metric": "new_findings_high",
                "operator": "lte",
                "error_threshold": 0,
                "missing_data": "ignore",
            },
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
            {
                "metric": "mttr_hours",
                "operator": "lte",
                "error_threshold": 24,
                "warn_threshold": 4,
                "missing_data": "ignore",
            },
            {
                "metric": "change_failure_rate",
                "operator": "lte",
                "error_threshold": 30,
                "warn_threshold": 15,
                "missing_data": "ignore",
            },
            {
                "metric": "stability_index",
                "operator": "gte",
                "error_threshold": 70,
                "warn_threshold": 85,
                "missing_data": "warn",
            },
        ],
        "checklist_items": [
            {"text": "Runbook updated and handed to operations", "role": Role.RELEASE_MANAGER},
            {"text": "Monitoring dashboards and alerts in place", "role": Role.ADMIN},
            {"text": "On-call rota briefed on the release", "role": Role.MANAGER},
        ],
    },
]
