"""The metric registry: every figure of the contract (../shared/docs/metrics.md) with its unit, scope and direction.

Gates, dashboards, the API and alert rules all look metrics up here. `SCALAR_KEYS` are the metrics that have one
value per scope and instant (snapshots, gates, alerts); `defect_flow` is the contract's one series.
"""

from dataclasses import dataclass

from measures.models import BUILTIN_MEASURES, Direction


@dataclass(frozen=True)
class MetricDefinition:
    key: str
    label: str
    unit: str  # "count", "%", "hours", "0-100" or "series"
    scope: str  # "release" | "project"
    higher_is_better: bool
    description: str

    @property
    def is_series(self) -> bool:
        return self.unit == "series"


_DEFINITIONS = [
    MetricDefinition(
        "open_defects",
        "Open defects",
        "count",
        "release",
        False,
        "Defects found in the release whose state as of T is open (new, triaged, in progress, reopened).",
    ),
    MetricDefinition(
        "blocking_open_defects",
        "Blocking open defects",
        "count",
        "release",
        False,
        "Open defects found in the release with severity blocker or critical.",
    ),
    MetricDefinition(
        "defect_arrivals_7d",
        "Defect arrivals (7 days)",
        "count",
        "release",
        False,
        "Defects found in the release created in (T-7d, T].",
    ),
    MetricDefinition(
        "defect_closures_7d",
        "Defect closures (7 days)",
        "count",
        "release",
        True,
        "Transitions of the release's defects into a resolved state in (T-7d, T].",
    ),
    MetricDefinition(
        "defect_net_flow_7d",
        "Defect net flow (7 days)",
        "count",
        "release",
        False,
        "Arrivals minus closures over the last 7 days; positive means the backlog is growing.",
    ),
    MetricDefinition(
        "reopen_rate",
        "Reopen rate",
        "%",
        "release",
        False,
        "Share of valid defects that were resolved at least once and then reopened.",
    ),
    MetricDefinition(
        "defect_mttr_hours",
        "Defect MTTR",
        "hours",
        "release",
        False,
        "Mean summed open time (reopen intervals included) of valid defects resolved as fixed; median and p90 too.",
    ),
    MetricDefinition(
        "defect_leakage",
        "Defect leakage",
        "%",
        "release",
        False,
        "Valid defects found in production over all valid defects found in the release.",
    ),
    MetricDefinition(
        "requirement_coverage",
        "Requirement coverage",
        "%",
        "release",
        True,
        "Requirements in the release's scope with at least one linked test case.",
    ),
    MetricDefinition(
        "verified_requirements",
        "Verified requirements",
        "%",
        "release",
        True,
        "Requirements in scope whose linked test cases all have a latest result in the release and all passed.",
    ),
    MetricDefinition(
        "verified_critical_requirements",
        "Verified critical requirements",
        "%",
        "release",
        True,
        "Verified requirements restricted to criticality high or critical; no data with none in scope.",
    ),
    MetricDefinition(
        "test_pass_rate",
        "Test pass rate",
        "%",
        "release",
        True,
        "Passed over executed (passed, failed, error, blocked) latest results of the release's test cases.",
    ),
    MetricDefinition(
        "flaky_test_rate",
        "Flaky test rate",
        "%",
        "release",
        False,
        "Test cases flagged flaky over test cases with any result in the release.",
    ),
    MetricDefinition(
        "release_risk_score",
        "Release risk score",
        "0-100",
        "release",
        False,
        "Weighted share of failing (1) and warning (0.5) indicators; bands low < 25 <= medium < 50 <= high < 75.",
    ),
    MetricDefinition(
        "mttr_hours",
        "Incident MTTR",
        "hours",
        "project",
        False,
        "Mean restored_at - started_at over incidents restored in the window; median, p90 and open incidents too.",
    ),
    MetricDefinition(
        "change_failure_rate",
        "Change failure rate",
        "%",
        "project",
        False,
        "Releases deployed in the window with an attributed incident or hotfix, over releases deployed.",
    ),
    MetricDefinition(
        "stability_index",
        "Stability index",
        "0-100",
        "project",
        True,
        "100 * weighted (1-CFR), (1-leakage), (1-reopen) and restore ratio over the window; missing parts left out.",
    ),
    MetricDefinition(
        "defect_flow",
        "Defect flow",
        "series",
        "project",
        False,
        "Per day or week: opened, closed, reopened, net and open backlog at the end of the bucket.",
    ),
]

# Built-in measure keys (external evidence: coverage, findings, load tests): release scope, latest value as of T.
_MEASURE_DEFINITIONS = [
    MetricDefinition(m.key, m.label, m.unit, "release", m.direction == Direction.HIGHER, m.description)
    for m in BUILTIN_MEASURES.values()
]
_DEFINITIONS += _MEASURE_DEFINITIONS
MEASURE_KEYS: tuple[str, ...] = tuple(d.key for d in _MEASURE_DEFINITIONS)

REGISTRY: dict[str, MetricDefinition] = {d.key: d for d in _DEFINITIONS}

RELEASE_KEYS: tuple[str, ...] = tuple(d.key for d in _DEFINITIONS if d.scope == "release" and not d.is_series)
PROJECT_KEYS: tuple[str, ...] = tuple(d.key for d in _DEFINITIONS if d.scope == "project" and not d.is_series)
SCALAR_KEYS: tuple[str, ...] = RELEASE_KEYS + PROJECT_KEYS
SERIES_KEYS: tuple[str, ...] = tuple(d.key for d in _DEFINITIONS if d.is_series)


def custom_definitions(project) -> dict[str, MetricDefinition]:
    """The project's own measure keys as release-scope metric definitions (one query)."""
    from measures.selectors import custom_keys

    if project is None:
        return {}
    return {
        k.key: MetricDefinition(
            k.key, k.label, k.unit or "", "release", k.direction == Direction.HIGHER, k.description or k.label
        )
        for k in custom_keys(project=project)
    }


def definitions_for(project) -> dict[str, MetricDefinition]:
    """Every metric a project can use: the built-in ones, then its custom measure keys."""
    return {**REGISTRY, **custom_definitions(project)}
