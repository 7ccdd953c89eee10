"""Per-project metric policy: the contract's defaults, replaced by the project's saved versions (PolicyVersion).

The policy in force at T is the newest saved version with created_at <= T; with none, the defaults overlaid with
the legacy `releases.Project.metric_policy` JSON (version 0). A saved version holds every section; its `risk`
section is the complete list of risk indicators (any release metric or measure key, custom keys included).

Sections are validated by the functions in POLICY_SECTIONS, so a later section (the economics of go/no-go, for
example) is one more entry there: `{"name": (default, validator)}`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from qualitygov.errors import DomainError

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
MAX_INDICATORS = 30

DEFAULT_POLICY: dict[str, Any] = {
    "window_days": 90,
    # The contract leaves the restore target to policy; a day is our default.
    "target_mttr_hours": 24.0,
    "stability_weights": {"cfr": 0.4, "leakage": 0.3, "reopen": 0.15, "restore": 0.15},
    "risk": DEFAULT_RISK_INDICATORS,
    # The economics of go/no-go: no defaults (unset = the figures are not shown), one currency for all three.
    "economics": {"delay_cost_per_day": None, "hotfix_cost": None, "incident_cost": None, "currency": ""},
}


def _legacy_policy(project) -> dict[str, Any]:
    """Defaults overlaid with Project.metric_policy (unknown keys ignored): the policy before any saved version."""
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


def policy_version_in_force(project, as_of=None):
    """The newest saved PolicyVersion of the project at or before T (default: the newest), or None."""
    from .models import PolicyVersion

    qs = PolicyVersion.objects.filter(project=project)
    if as_of is not None:
        qs = qs.filter(created_at__lte=as_of)
    return qs.order_by("-created_at", "-version").first()


def policy_for(project, as_of=None) -> dict[str, Any]:
    """The project's effective policy in force at T (default now), with its `version` (0 = defaults/legacy)."""
    saved = policy_version_in_force(project, as_of) if getattr(project, "pk", None) else None
    if saved is None:
        effective = _legacy_policy(project)
        effective["version"] = 0
        return effective
    effective = copy.deepcopy(DEFAULT_POLICY)
    effective.update(copy.deepcopy(saved.policy))
    effective["version"] = saved.version
    return effective


def risk_band(score: float | None) -> str | None:
    """low < 25 <= medium < 50 <= high < 75 <= critical."""
    if score is None:
        return None
    for upper, band in RISK_BANDS:
        if score < upper:
            return band
    return "critical"


# --- Validation of a new version ----------------------------------------------------------------------------


def _number(value, where: str, *, minimum: float | None = None, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DomainError(f"{where} must be a number.", field="policy", code="invalid_policy")
    if minimum is not None and value < minimum:
        raise DomainError(f"{where} must be at least {minimum:g}.", field="policy", code="invalid_policy")
    if maximum is not None and value > maximum:
        raise DomainError(f"{where} must be at most {maximum:g}.", field="policy", code="invalid_policy")
    return float(value)


def _validate_risk(value, *, definitions: dict) -> dict:
    if not isinstance(value, dict) or not value:
        raise DomainError("risk must name at least one indicator.", field="policy", code="invalid_policy")
    if len(value) > MAX_INDICATORS:
        raise DomainError(
            f"risk has at most {MAX_INDICATORS} indicators.", field="policy", code="invalid_policy"
        )
    out = {}
    for key, rule in value.items():
        definition = definitions.get(key)
        if (
            definition is None
            or definition.scope != "release"
            or definition.is_series
            or key == "release_risk_score"
        ):
            choices = sorted(
                k
                for k, d in definitions.items()
                if d.scope == "release" and not d.is_series and k != "release_risk_score"
            )
            raise DomainError(
                f"risk: '{str(key)[:60]}' is not a release metric or measure key. Choose from: {', '.join(choices)}.",
                field="policy",
                code="unknown_metric",
            )
        if not isinstance(rule, dict):
            raise DomainError(f"risk.{key} must be an object.", field="policy", code="invalid_policy")
        unknown = set(rule) - {"pass", "warn", "weight", "direction"}
        if unknown:
            raise DomainError(
                f"risk.{key}: unknown field(s) {', '.join(sorted(unknown))}.",
                field="policy",
                code="invalid_policy",
            )
        direction = rule.get("direction") or ("higher" if definition.higher_is_better else "lower")
        if direction not in ("higher", "lower"):
            raise DomainError(
                f"risk.{key}.direction is higher or lower.", field="policy", code="invalid_policy"
            )
        passes = _number(rule.get("pass"), f"risk.{key}.pass")
        warn = _number(rule.get("warn"), f"risk.{key}.warn")
        weight = _number(rule.get("weight"), f"risk.{key}.weight", minimum=0, maximum=100)
        if (direction == "lower" and warn < passes) or (direction == "higher" and warn > passes):
            word = "at least" if direction == "lower" else "at most"
            raise DomainError(
                f"risk.{key}: the warn threshold must be {word} the pass threshold (lower is better: pass <= warn; "
                "higher is better: pass >= warn).",
                field="policy",
                code="invalid_policy",
            )
        out[key] = {"pass": passes, "warn": warn, "weight": weight, "direction": direction}
    if not any(rule["weight"] > 0 for rule in out.values()):
        raise DomainError("risk: at least one weight must be above 0.", field="policy", code="invalid_policy")
    return out


def _validate_window(value, **_) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        raise DomainError(
            "window_days is a whole number of days, 1 to 3650.", field="policy", code="invalid_policy"
        )
    return value


def _validate_target(value, **_) -> float:
    return _number(value, "target_mttr_hours", minimum=0.01, maximum=24 * 365)


def _validate_weights(value, **_) -> dict:
    parts = DEFAULT_POLICY["stability_weights"]
    if not isinstance(value, dict) or set(value) != set(parts):
        raise DomainError(
            f"stability_weights names exactly: {', '.join(parts)}.", field="policy", code="invalid_policy"
        )
    out = {part: _number(value[part], f"stability_weights.{part}", minimum=0, maximum=100) for part in parts}
    if not sum(out.values()) > 0:
        raise DomainError(
            "stability_weights: at least one weight above 0.", field="policy", code="invalid_policy"
        )
    return out


ECONOMICS_COSTS = ("delay_cost_per_day", "hotfix_cost", "incident_cost")
MAX_COST = 1e12


def _validate_economics(value, **_) -> dict:
    """delay_cost_per_day (above 0), hotfix_cost and incident_cost (0 or more), each a number or null (unset),
    and a currency code of at most 8 characters."""
    if not isinstance(value, dict):
        raise DomainError(
            "economics is an object: delay_cost_per_day, hotfix_cost, incident_cost, currency.",
            field="policy",
            code="invalid_policy",
        )
    unknown = set(value) - {*ECONOMICS_COSTS, "currency"}
    if unknown:
        raise DomainError(
            f"economics: unknown field(s) {', '.join(sorted(map(str, unknown)))}.",
            field="policy",
            code="invalid_policy",
        )
    out: dict[str, Any] = {}
    for field in ECONOMICS_COSTS:
        raw = value.get(field)
        if raw is None:
            out[field] = None
            continue
        out[field] = _number(raw, f"economics.{field}", minimum=0, maximum=MAX_COST)
    if out["delay_cost_per_day"] is not None and out["delay_cost_per_day"] <= 0:
        raise DomainError(
            "economics.delay_cost_per_day must be above 0 (it divides the break-even delay).",
            field="policy",
            code="invalid_policy",
        )
    currency = value.get("currency") or ""
    if not isinstance(currency, str) or len(currency.strip()) > 8:
        raise DomainError(
            "economics.currency is a short text (at most 8 characters), for example EUR.",
            field="policy",
            code="invalid_policy",
        )
    out["currency"] = currency.strip()
    return out


# section -> validator(value, *, definitions) returning the cleaned value. Sections left out keep the defaults.
POLICY_SECTIONS: dict[str, Callable[..., Any]] = {
    "risk": _validate_risk,
    "window_days": _validate_window,
    "target_mttr_hours": _validate_target,
    "stability_weights": _validate_weights,
    "economics": _validate_economics,
}


def policy_validate(data, *, definitions: dict) -> dict[str, Any]:
    """A complete, cleaned policy from the submitted sections (missing sections take the defaults); DomainError
    (400) naming the first problem."""
    if not isinstance(data, dict):
        raise DomainError("policy must be an object.", field="policy", code="invalid_policy")
    unknown = set(data) - set(POLICY_SECTIONS) - {"version"}
    if unknown:
        raise DomainError(
            f"Unknown policy section(s): {', '.join(sorted(map(str, unknown)))}. Known: {', '.join(POLICY_SECTIONS)}.",
            field="policy",
            code="invalid_policy",
        )
    cleaned = {}
    for name, validator in POLICY_SECTIONS.items():
        value = data.get(name, copy.deepcopy(DEFAULT_POLICY.get(name)))
        cleaned[name] = validator(value, definitions=definitions)
    return cleaned
