"""Release risk score: an explainable weighted share of failing and warning indicators (contract, "Release risk score")."""

from .policy import NO_DATA_SCORE, risk_band
from .results import MetricResult


def classify(value: float | None, *, rule: dict) -> tuple[str, float]:
    """(class, score): pass 0, warn 0.5, fail 1; a null value is "no_data" and scores as a warn."""
    if value is None:
        return "no_data", NO_DATA_SCORE
    if rule["direction"] == "lower":
        if value <= rule["pass"]:
            return "pass", 0.0
        if value <= rule["warn"]:
            return "warn", 0.5
        return "fail", 1.0
    if value >= rule["pass"]:
        return "pass", 0.0
    if value >= rule["warn"]:
        return "warn", 0.5
    return "fail", 1.0


def release_risk_score(*, policy: dict, indicators: dict[str, MetricResult]) -> MetricResult:
    """release_risk_score = 100 * sum(w_i * r_i) / sum(w_i). A null indicator counts as a warn (0.5), never as a pass,
    and is listed as "no data". Bands: low < 25 <= medium < 50 <= high < 75 <= critical.

    `policy` is the project's policy in force at T (its `risk` indicators may include measure keys); the result
    names the policy version it used."""
    rules = policy["risk"]
    total_weight = sum(rule["weight"] for rule in rules.values())
    rows = []
    weighted = 0.0
    for key, rule in rules.items():
        result = indicators.get(key) or MetricResult(key, None, 0, "")
        klass, score = classify(result.value, rule=rule)
        weighted += rule["weight"] * score
        rows.append(
            {
                "key": key,
                "value": result.value,
                "n": result.n,
                "class": klass,
                "score": score,
                "weight": rule["weight"],
                "pass": rule["pass"],
                "warn": rule["warn"],
                "direction": rule["direction"],
                # Points of the 0-100 score this indicator is responsible for.
                "contribution": round(100.0 * rule["weight"] * score / total_weight, 2)
                if total_weight
                else 0.0,
            }
        )
    value = round(100.0 * weighted / total_weight, 2) if total_weight else None
    return MetricResult(
        "release_risk_score",
        value,
        sum(1 for row in rows if row["class"] != "no_data"),
        "0-100",
        {"band": risk_band(value), "indicators": rows, "policy_version": policy.get("version", 0)},
    )
