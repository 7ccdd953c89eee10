"""Per-project metric policy: the contract's defaults, overridable in releases.Project.metric_policy (JSON).

Example override: {"window_days": 30, "target_mttr_hours": 8,
"risk": {"test_pass_rate": {"pass": 99, "warn": 97, "weight": 3}},
"stability_weights": {"cfr": 0.5, "leakage": 0.2, "reopen": 0.15, "restore": 0.15}}
"""

import copy
from typing import Any

# Release risk score indicators: (pass, warn, weight). "lower" means pass when value <= pass threshold.
DEFAULT_RISK_INDICATORS: dict[str, dict[str, Any]] = {
    "blocking_open_defects": {"pass": 0, "warn": 2, "weight": 3, "direction": "lower"},
    "test_pass_rate": {"pass": 98, "warn": 95, "weight": 2, "direction": "higher"},
    "verified_requirements": {"pass": 95, "warn": 85, "weight": 2, "direction": "higher"},
    "reopen_rate": {"pass": 5, "warn": 10, "weight": 1, "direction": "lower"},
    "defect_net_flow_7d": {"pass": 0, "warn": 5, "weight": 1, "direction": "lower"},
    "flaky_test_rate": {"pass": 2, "warn": 5, "weight": 1, "direction": "lower"},
}
# A null indicator counts as a warn, never as a pass.
NO_DATA_SCORE = 0.5
# Bands: low < 25 <= medium < 50 <= high < 75 <= critical.
RISK_BANDS: tuple[tuple[float, str], ...] = ((25, "low"), (50, "medium"), (75, "high"))

DEFAULT_POLICY: dict[str, Any] = {
    "window_days": 90,
    # The contract leaves the restore target to policy; a day is our default.
    "target_mttr_hours": 24.0,
    "stability_weights": {"cfr": 0.4, "leakage": 0.3, "reopen": 0.15, "restore": 0.15},
    "risk": DEFAULT_RISK_INDICATORS,
}


def policy_for(project) -> dict[str, Any]:
    """The project's effective policy: defaults overlaid with Project.metric_policy (unknown keys ignored)."""
    effective = copy.deepcopy(DEFAULT_POLICY)
    override = getattr(project, "metric_policy", None) or {}
    if not isinstance(override, dict):
        return effective
    if isinstance(override.get("window_days"), int) and override["window_days"] > 0:
        effective["window_days"] = override["window_days"]
    if isinstance(override.get("target_mttr_hours"), (int, float)) and override["target_mttr_hours"] > 0:
        effective["target_mttr_hours"] = float(override["target_mttr_hours"])
    weights = override.get("stability_weights")
    if isinstance(weights, dict):
        for part in effective["stability_weights"]:
            if isinstance(weights.get(part), (int, float)) and weights[part] >= 0:
                effective["stability_weights"][part] = float(weights[part])
    risk = override.get("risk")
    if isinstance(risk, dict):
        for key, base in effective["risk"].items():
            custom = risk.get(key)
            if isinstance(custom, dict):
                for field in ("pass", "warn", "weight"):
                    if isinstance(custom.get(field), (int, float)):
                        base[field] = custom[field]
    return effective


def risk_band(score: float | None) -> str | None:
    """low < 25 <= medium < 50 <= high < 75 <= critical."""
    if score is None:
        return None
    for upper, band in RISK_BANDS:
        if score < upper:
            return band
    return "critical"
