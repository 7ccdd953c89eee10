"""KPI tiles of the dashboards: a metric's value as people read it, with its trend against 7 days ago."""

import datetime as dt
from urllib.parse import urlencode

from metrics.models import MetricSnapshot
from metrics.registry import REGISTRY

TREND_DAYS = 7
TILE_KEYS = (
    "release_risk_score",
    "open_defects",
    "blocking_open_defects",
    "defect_net_flow_7d",
    "test_pass_rate",
    "verified_requirements",
    "requirement_coverage",
    "reopen_rate",
    "defect_mttr_hours",
    "defect_leakage",
    "flaky_test_rate",
)


def format_value(value, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "hours":
        return f"{value:.1f} h"
    if unit == "0-100":
        return f"{value:.0f}"
    if unit and unit != "count":
        return f"{value:g} {unit}"
    return f"{value:g}"


def tile(
    key: str,
    snap: MetricSnapshot | None,
    before: MetricSnapshot | None,
    *,
    url: str = "",
    definition=None,
    links: tuple[tuple[str, str], ...] = (),
) -> dict:
    """A KPI tile: value, n and the trend against the snapshot of 7 days ago (good/bad by the metric's direction).
    `definition` is given for a project's custom measure keys, which the registry does not hold."""
    definition = definition or REGISTRY[key]
    value = snap.value if snap else None
    previous = before.value if before else None
    arrow, mood, delta = "", "flat", None
    if value is not None and previous is not None:
        delta = round(value - previous, 2)
        if delta > 0:
            arrow = "▲"
        elif delta < 0:
            arrow = "▼"
        else:
            arrow = "▶"
        if delta:
            mood = "good" if (delta > 0) == definition.higher_is_better else "bad"
    return {
        "key": key,
        "label": definition.label,
        "unit": definition.unit,
        "value": value,
        "display": format_value(value, definition.unit),
        "n": snap.n if snap else 0,
        "details": snap.details if snap else {},
        "previous": previous,
        "delta": delta,
        "arrow": arrow,
        "mood": mood,
        "trend_title": (
            f"{format_value(previous, definition.unit)} 7 days ago"
            if previous is not None
            else "no snapshot 7 days ago"
        ),
        "url": url,
        "links": links,
        "description": definition.description,
    }


def thresholds_text(row: dict, unit: str) -> str:
    sign = "≤" if row["direction"] == "lower" else "≥"
    suffix = "%" if unit == "%" else ""
    return f"pass {sign} {row['pass']:g}{suffix}, warn {sign} {row['warn']:g}{suffix}"


# Tiles whose items are one defect list with these filters (as of the tile's T, so it counts what the tile counts).
DEFECT_LIST_FILTERS = {
    "open_defects": {"status": "open"},
    "blocking_open_defects": {"status": "open", "severity": "blocker,critical"},
}
REQUIREMENT_GAPS = {"requirement_coverage": "covered", "verified_requirements": "verified"}
SEVEN_DAYS = dt.timedelta(days=7)


def release_tile_links(release, snaps: dict) -> dict[str, tuple[str, tuple[tuple[str, str], ...]]]:
    """{key: (url, extra links)}: where each release tile leads, with the tile's own T. A count opens the defect
    list with the filters that count it; net flow its opened and its closed lists (the same 7-day window); rates
    and MTTR the page of their numerator, denominator or sample; requirement figures the traceability matrix."""
    out = {}
    for key in TILE_KEYS:
        snap = snaps.get(key)
        as_of = {"as_of": snap.as_of.isoformat()} if snap is not None else {}
        defects = {"release": release.pk, **as_of}
        if key in DEFECT_LIST_FILTERS:
            out[key] = (f"/defects/?{urlencode({**defects, **DEFECT_LIST_FILTERS[key]})}", ())
        elif key in REQUIREMENT_GAPS:
            query = urlencode({"gap": REQUIREMENT_GAPS[key], **as_of})
            out[key] = (f"/releases/{release.pk}/traceability/?{query}", ())
        elif key != "release_risk_score":
            links = ()
            if key == "defect_net_flow_7d" and snap is not None:
                window = {"after": (snap.as_of - SEVEN_DAYS).isoformat(), "to": snap.as_of.isoformat()}
                links = tuple(
                    (
                        label,
                        "/defects/?"
                        + urlencode({**defects, **{f"{kind}_{k}": v for k, v in window.items()}}),
                    )
                    for label, kind in (("opened", "opened"), ("closed", "closed"))
                )
            out[key] = (f"/releases/{release.pk}/metrics/{key}/?{urlencode(as_of)}", links)
    return out


def project_tile_url(project, key: str, snap: MetricSnapshot | None) -> str:
    """Where a project tile leads, with its T: MTTR the incidents it averages (and the open ones beside it), change
    failure rate the releases it divides; the stability index is made of the figures beside it."""
    if key not in ("mttr_hours", "change_failure_rate"):
        return ""
    query = f"?{urlencode({'as_of': snap.as_of.isoformat()})}" if snap is not None else ""
    return f"/projects/{project.key}/metrics/{key}/{query}"
