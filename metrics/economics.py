"""The economics of go/no-go (metrics.md, "Risk by change class, and the economics of go/no-go").

With the project's costs (policy section `economics`: delay_cost_per_day, hotfix_cost, incident_cost, in one
currency; no defaults, unset = not shown) and the calibration of the risk score as of T:

* p  = the calibration rate of the release's band b, where that band holds at least MIN_N releases, else the
  project's overall bad rate (where that rests on at least MIN_N releases), else not shown;
* p' = the same rate for the `low` band: where a delay that fixes every failing and warning indicator would take
  the release (the best a delay can buy);
* expected cost of going now        = p * (hotfix_cost + incident_cost);
* expected cost of postponing d days = d * delay_cost_per_day + p' * (hotfix_cost + incident_cost);
* break-even delay d* = (p - p') * (hotfix_cost + incident_cost) / delay_cost_per_day: postponing pays off only
  if the fixes take fewer than d* days.

Pure arithmetic over the calibration dict (metrics.calibration) and the policy: no database here.
"""

from __future__ import annotations

from typing import Any

from .calibration import band_rate

POSTPONE_DAYS: tuple[int, ...] = (1, 3, 7, 14)
COST_FIELDS: tuple[str, ...] = ("delay_cost_per_day", "hotfix_cost", "incident_cost")

FORMULA = (
    "Expected cost of going now = p × (hotfix cost + incident cost), p being the share of past releases in this "
    "risk band that needed a hotfix, had an incident or leaked a production defect within 30 days. Expected cost "
    "of postponing d days = d × delay cost per day + p' × (hotfix cost + incident cost), p' being the same share "
    "for the low band, where fixing every failing and warning indicator would take the release. Break-even delay "
    "d* = (p - p') × (hotfix cost + incident cost) ÷ delay cost per day: postponing pays off only if the fixes "
    "take fewer than d* days."
)


def costs_of(policy: dict[str, Any]) -> dict[str, Any] | None:
    """The project's three costs and currency from the policy, or None while any of the three is unset."""
    section = policy.get("economics") or {}
    if any(section.get(field) is None for field in COST_FIELDS):
        return None
    return {
        **{field: float(section[field]) for field in COST_FIELDS},
        "currency": section.get("currency") or "",
    }


def _money(value: float) -> float:
    return round(value, 2)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def economics(
    *, band: str | None, score: float | None, calibration: dict[str, Any], policy: dict[str, Any]
) -> dict[str, Any]:
    """The go/no-go figures for a release in `band` (its risk score `score`), from the calibration and policy.

    Always answers the calibration figures it rests on; `shown` is False, with `reason`, where the policy has no
    costs, the release has no score, or there is not enough history for p; then no cost figure is given."""
    costs = costs_of(policy)
    p, p_source, p_n = band_rate(calibration, band)
    p_prime, p_prime_source, p_prime_n = band_rate(calibration, "low")
    out: dict[str, Any] = {
        "shown": False,
        "reason": "",
        "band": band,
        "score": score,
        "p": _share(p),
        "p_source": p_source,
        "p_n": p_n,
        "p_prime": _share(p_prime),
        "p_prime_source": p_prime_source,
        "p_prime_n": p_prime_n,
        "costs": costs,
        "cost_go_now": None,
        "cost_postpone": [],
        "break_even_days": None,
        "formula": FORMULA,
        "calibration": {
            "as_of": calibration["as_of"],
            "min_n": calibration["min_n"],
            "bands": [{k: b[k] for k in ("band", "n", "bad", "rate")} for b in calibration["bands"]],
            "overall": {k: calibration["overall"][k] for k in ("n", "bad", "rate")},
            "auc": calibration["auc"],
        },
    }
    if costs is None:
        out["reason"] = "The project's policy sets no delay, hotfix and incident costs."
        return out
    if band is None:
        out["reason"] = "The release has no risk score yet."
        return out
    if p is None or p_prime is None:
        overall = calibration["overall"]
        out["reason"] = (
            f"Not enough history yet: {overall['n']} released release(s) with a closed 30-day window "
            f"({overall['bad']} bad); at least {calibration['min_n']} are needed."
        )
        return out
    failure_cost = costs["hotfix_cost"] + costs["incident_cost"]
    out.update(
        {
            "shown": True,
            "cost_go_now": _money(p * failure_cost),
            "cost_postpone": [
                {"days": d, "cost": _money(d * costs["delay_cost_per_day"] + p_prime * failure_cost)}
                for d in POSTPONE_DAYS
            ],
            "break_even_days": round((p - p_prime) * failure_cost / costs["delay_cost_per_day"], 2),
        }
    )
    return out
