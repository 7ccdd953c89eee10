"""Read models of the three dashboards: plain dicts and Plotly JSON, from snapshots, in a bounded number of queries.

A scope without any snapshot yet is computed on demand and stored once (then the page reads snapshots again).
"""

import datetime as dt
import hashlib

from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from releases.models import ACTIVE_RELEASE_STATUSES, Release

from . import charts, selectors, services
from .flow import defect_flow
from .models import MetricSnapshot, Scope
from .registry import PROJECT_KEYS, REGISTRY, RELEASE_KEYS

TREND_DAYS = 7
CHART_DAYS = 30
PROJECT_CHART_DAYS = 90
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


def _format(value, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "hours":
        return f"{value:.1f} h"
    if unit == "0-100":
        return f"{value:.0f}"
    return f"{value:g}"


def tile(key: str, snap: MetricSnapshot | None, before: MetricSnapshot | None, *, url: str = "") -> dict:
    """A KPI tile: value, n and the trend against the snapshot of 7 days ago (good/bad by the metric's direction)."""
    definition = REGISTRY[key]
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
        "display": _format(value, definition.unit),
        "n": snap.n if snap else 0,
        "details": snap.details if snap else {},
        "previous": previous,
        "delta": delta,
        "arrow": arrow,
        "mood": mood,
        "trend_title": (
            f"{_format(previous, definition.unit)} 7 days ago"
            if previous is not None
            else "no snapshot 7 days ago"
        ),
        "url": url,
        "description": definition.description,
    }


def _ensure_release_snapshots(releases: list[Release]) -> dict[int, dict[str, MetricSnapshot]]:
    snaps = selectors.latest_release_metrics(release_ids=[r.pk for r in releases])
    missing = [r for r in releases if any(k not in snaps[r.pk] for k in RELEASE_KEYS)]
    missing_projects = {
        r.project_id: r.project for r in releases if any(k not in snaps[r.pk] for k in PROJECT_KEYS)
    }
    for release in missing:
        services.snapshot_release(release=release)
    for project in missing_projects.values():
        services.snapshot_project(project=project)
    if missing or missing_projects:
        snaps = selectors.latest_release_metrics(release_ids=[r.pk for r in releases])
    return snaps


CHARTS_CACHE_SECONDS = 15 * 60


def _digest(value) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:24]


def _charts_stamp(snapshots, now: dt.datetime, *, extra=()) -> str:
    """What the charts depend on, in a few bytes: the newest snapshot of the scope (every recompute after an event
    writes new ones), today's date (the day buckets) and `extra` (e.g. the releases marked on a project chart)."""
    newest = max((s.computed_at for s in snapshots), default=None)
    return _digest((newest.isoformat() if newest else "", now.date().isoformat(), list(extra)))


def _cached_charts(scope: str, stamp: str, build):
    """The charts of a dashboard from the cache while the scope's snapshots are unchanged, else built and stored.

    Charts show the data as of the last recompute, like the tiles beside them. With Redis down the cache backend
    (qualitygov.resilience.FailSoftRedisCache) misses and drops writes, so they are simply built each time."""
    return cache.get_or_set(f"metrics:charts:v1:{scope}:{stamp}", build, CHARTS_CACHE_SECONDS)


def _series_for(*, keys, start, end, release_id=None, project_id=None) -> dict[str, list[dict]]:
    """Daily last snapshot per key for several keys in one query."""
    qs = MetricSnapshot.objects.filter(key__in=keys, as_of__gte=start, as_of__lte=end)
    if release_id is not None:
        qs = qs.filter(scope=Scope.RELEASE, release_id=release_id)
    else:
        qs = qs.filter(scope=Scope.PROJECT, project_id=project_id)
    out: dict[str, dict[str, dict]] = {k: {} for k in keys}
    for row in qs.order_by("as_of", "id").values("key", "as_of", "value", "n", "details"):
        # Later rows of the same day replace earlier ones: the last snapshot of the day wins.
        day = row["as_of"].date().isoformat()
        out[row["key"]][day] = {
            "bucket": day,
            "value": row["value"],
            "n": row["n"],
            "details": row["details"],
        }
    return {k: [v[d] for d in sorted(v)] for k, v in out.items()}


def release_dashboard(*, release: Release) -> dict:
    """Everything the release dashboard shows."""
    from gates.selectors import expired_waivers, gate_status_by_release

    snaps = _ensure_release_snapshots([release])[release.pk]
    now = timezone.now()  # after the snapshots just taken, so that the trend charts include them
    before = selectors.release_metrics_before(
        release_ids=[release.pk], before=now - dt.timedelta(days=TREND_DAYS)
    )
    before = before[release.pk]
    defects_url = f"/defects/?release={release.pk}"
    tile_urls = {
        "open_defects": f"{defects_url}&status=open",
        "blocking_open_defects": f"{defects_url}&status=open&severity=blocker,critical",
        "defect_net_flow_7d": defects_url,
        "reopen_rate": f"{defects_url}&status=reopened",
        "defect_leakage": f"{defects_url}&environment=production",
        "test_pass_rate": f"/runs/?release={release.pk}",
        "flaky_test_rate": f"/runs/?release={release.pk}",
        "requirement_coverage": f"/requirements/?release={release.pk}",
        "verified_requirements": f"/requirements/?release={release.pk}",
    }
    tiles = [tile(k, snaps.get(k), before.get(k), url=tile_urls.get(k, "")) for k in TILE_KEYS]
    risk = snaps.get("release_risk_score")
    indicators = []
    for row in risk.details.get("indicators", []) if risk else []:
        definition = REGISTRY[row["key"]]
        indicators.append(
            {
                **row,
                "label": definition.label,
                "display": _format(row["value"], definition.unit),
                "threshold_text": _thresholds(row, definition.unit),
            }
        )

    figures, chart_points = _cached_charts(
        f"release:{release.pk}",
        _charts_stamp(snaps.values(), now),
        lambda: _release_charts(release=release, now=now),
    )
    gate = gate_status_by_release(release_ids=[release.pk])[release.pk]
    return {
        "release": release,
        "project": release.project,
        "tiles": tiles,
        "risk": risk,
        "risk_band": (risk.details.get("band") if risk else None),
        "indicators": indicators,
        "figures": figures,
        "chart_points": chart_points,
        "gate": gate,
        "expired_waivers": list(expired_waivers(release=release)[:20]),
        "alerts": list(selectors.active_alerts(release_ids=[release.pk])[:20]),
        "computed_at": risk.computed_at if risk else None,
        "project_tiles": [tile(k, snaps.get(k), None) for k in PROJECT_KEYS],
    }


PERCENTILE_LABELS = {"median": "Median", "p90": "90th percentile"}


def with_percentiles(points: list[dict], *, key: str) -> dict[str, list[dict]]:
    """The mean series of a time metric plus its median and p90 (kept in each snapshot's details)."""
    out = {key: points}
    for part in ("median", "p90"):
        out[part] = [{**p, "value": (p.get("details") or {}).get(part)} for p in points]
    return out


def _thresholds(row: dict, unit: str) -> str:
    sign = "≤" if row["direction"] == "lower" else "≥"
    suffix = "%" if unit == "%" else ""
    return f"pass {sign} {row['pass']:g}{suffix}, warn {sign} {row['warn']:g}{suffix}"


def project_dashboard(*, project) -> dict:
    """Everything the project dashboard shows."""
    from gates.selectors import expired_waivers, gate_status_by_release
    from incidents.selectors import open_incidents, overdue_action_items

    releases = list(project.releases.order_by("-created_at", "-id")[:50])
    snaps = _ensure_release_snapshots(releases) if releases else {}
    project_snaps = selectors.latest_project_metrics(project_ids=[project.pk]).get(project.pk, {})
    if any(k not in project_snaps for k in PROJECT_KEYS):
        services.snapshot_project(project=project)
        project_snaps = selectors.latest_project_metrics(project_ids=[project.pk]).get(project.pk, {})
    now = timezone.now()  # after the snapshots just taken, so that the trend charts include them
    before = selectors.project_metrics_before(
        project_id=project.pk, before=now - dt.timedelta(days=TREND_DAYS)
    )
    tiles = [
        tile(
            k,
            project_snaps.get(k),
            before.get(k),
            url="/incidents/?project=" + project.key if k == "mttr_hours" else "",
        )
        for k in PROJECT_KEYS
    ]
    gates = gate_status_by_release(release_ids=[r.pk for r in releases])
    rows = []
    for release in releases:
        s = snaps.get(release.pk, {})
        risk = s.get("release_risk_score")
        rows.append(
            {
                "release": release,
                "risk": risk.value if risk else None,
                "band": risk.details.get("band") if risk else None,
                "blocking": s["blocking_open_defects"].value if "blocking_open_defects" in s else None,
                "pass_rate": s["test_pass_rate"].value if "test_pass_rate" in s else None,
                "gate": gates.get(release.pk, {}),
            }
        )
    stamp = _charts_stamp(
        project_snaps.values(), now, extra=[(r.pk, r.version, r.actual_release_date) for r in releases]
    )
    figures, _ = _cached_charts(
        f"project:{project.pk}",
        stamp,
        lambda: (_project_charts(project=project, releases=releases, now=now), {}),
    )
    return {
        "project": project,
        "tiles": tiles,
        "mttr_details": project_snaps["mttr_hours"].details if "mttr_hours" in project_snaps else {},
        "rows": rows,
        "figures": figures,
        "overdue_items": list(overdue_action_items(project=project)[:50]),
        "open_incidents": list(open_incidents(project=project)[:20]),
        "expired_waivers": list(expired_waivers(project=project)[:20]),
        "alerts": list(selectors.active_alerts(project_ids=[project.pk])[:20]),
    }


def _release_charts(*, release: Release, now: dt.datetime) -> tuple[dict, dict]:
    """The release dashboard's Plotly figures and their point counts (the expensive part: flow queries, plotly)."""
    from testing.models import RunStatus, TestRun

    defects_url = f"/defects/?release={release.pk}"
    start = now - dt.timedelta(days=CHART_DAYS)
    flow = defect_flow(release=release, start=start, end=now, bucket="day", by_severity=True)
    runs = list(
        TestRun.objects.filter(release=release, status=RunStatus.COMPLETED)
        .order_by("-started_at", "-id")
        .values("id", "name", "started_at", "passed", "failed", "errors", "blocked")[:40]
    )
    run_rows = []
    for run in reversed(runs):
        executed = run["passed"] + run["failed"] + run["errors"] + run["blocked"]
        run_rows.append(
            {
                "label": run["name"] or f"run #{run['id']}",
                "started_at": run["started_at"].isoformat(),
                "pass_rate": round(100 * run["passed"] / executed, 2) if executed else None,
                "passed": run["passed"],
                "executed": executed,
                "url": f"/runs/{run['id']}/",
            }
        )
    series = _series_for(
        keys=["requirement_coverage", "verified_requirements", "defect_mttr_hours"],
        start=start,
        end=now,
        release_id=release.pk,
    )
    labels = {k: REGISTRY[k].label for k in REGISTRY} | PERCENTILE_LABELS
    mttr_series = with_percentiles(series["defect_mttr_hours"], key="defect_mttr_hours")
    figures = {
        "flow": charts.to_json(charts.defect_flow_figure(flow, list_url=defects_url)),
        "severity": charts.to_json(charts.open_by_severity_figure(flow, list_url=defects_url)),
        "runs": charts.to_json(
            charts.pass_rate_per_run_figure(run_rows, list_url=f"/runs/?release={release.pk}")
        ),
        "coverage": charts.to_json(
            charts.series_figure(
                {k: series[k] for k in ("requirement_coverage", "verified_requirements")},
                title="Requirement coverage and verified share over time",
                y_title="Requirements (%)",
                list_url=f"/requirements/?release={release.pk}",
                labels=labels,
                percent=True,
            )
        ),
        "mttr": charts.to_json(
            charts.series_figure(
                mttr_series,
                title="Defect MTTR over time (fixed defects)",
                y_title="Hours",
                list_url=f"{defects_url}&status=resolved_all",
                labels=labels,
            )
        ),
    }
    chart_points = {
        "flow": len(flow),
        "runs": len(run_rows),
        "coverage": len(series["requirement_coverage"]),
        "mttr": len(series["defect_mttr_hours"]),
    }
    return figures, chart_points


def _project_charts(*, project, releases: list[Release], now: dt.datetime) -> dict:
    """The project dashboard's Plotly figures."""

    start = now - dt.timedelta(days=PROJECT_CHART_DAYS)
    series = _series_for(keys=list(PROJECT_KEYS), start=start, end=now, project_id=project.pk)
    markers = [
        {"x": r.actual_release_date.date().isoformat(), "label": r.version}
        for r in releases
        if r.actual_release_date and r.actual_release_date >= start
    ]
    labels = {k: REGISTRY[k].label for k in REGISTRY} | PERCENTILE_LABELS
    flow = defect_flow(project=project, start=start, end=now, bucket="week")
    figures = {
        "stability": charts.to_json(
            charts.series_figure(
                {"stability_index": series["stability_index"]},
                title="Stability index over time (releases marked)",
                y_title="Stability index (0-100)",
                list_url=f"/projects/{project.key}/dashboard/",
                labels=labels,
                markers=markers,
            )
        ),
        "cfr": charts.to_json(
            charts.series_figure(
                {"change_failure_rate": series["change_failure_rate"]},
                title="Change failure rate over time",
                y_title="Failed deployments (%)",
                list_url=f"/releases/?project={project.key}",
                labels=labels,
                percent=True,
                markers=markers,
            )
        ),
        "mttr": charts.to_json(
            charts.series_figure(
                with_percentiles(series["mttr_hours"], key="mttr_hours"),
                title="Incident MTTR over time (mean time to restore)",
                y_title="Hours",
                list_url=f"/incidents/?project={project.key}",
                labels=labels,
                markers=markers,
            )
        ),
        "flow": charts.to_json(
            charts.defect_flow_figure(flow, list_url=f"/defects/?project={project.key}", bucket="week")
        ),
    }
    return figures


def portfolio(*, projects) -> dict:
    """Every project and active release the user can see, with risk band, blocking defects, gate status and days
    to the planned release date, riskiest first."""
    from gates.selectors import gate_status_by_release

    today = timezone.now().date()
    projects = list(projects)
    releases = list(
        Release.objects.filter(project__in=projects, status__in=ACTIVE_RELEASE_STATUSES).select_related(
            "project"
        )
    )
    snaps = _ensure_release_snapshots(releases) if releases else {}
    gates = gate_status_by_release(release_ids=[r.pk for r in releases])
    rows = []
    for release in releases:
        s = snaps.get(release.pk, {})
        risk = s.get("release_risk_score")
        planned = release.planned_release_date
        rows.append(
            {
                "release": release,
                "project_key": release.project.key,
                "version": release.version,
                "risk": risk.value if risk else None,
                "band": risk.details.get("band") if risk else None,
                "blocking": s["blocking_open_defects"].value if "blocking_open_defects" in s else None,
                "gate": gates.get(release.pk, {}),
                "days_to_release": (planned - today).days if planned else None,
                "dashboard_url": f"/releases/{release.pk}/dashboard/",
                "blocking_url": f"/defects/?release={release.pk}&status=open&severity=blocker,critical",
            }
        )
    rows.sort(key=lambda r: (-(r["risk"] if r["risk"] is not None else -1), r["project_key"], r["version"]))
    project_snaps = selectors.latest_project_metrics(project_ids=[p.pk for p in projects])
    counts = dict(
        Release.objects.filter(project__in=projects, status__in=ACTIVE_RELEASE_STATUSES)
        .values_list("project")
        .annotate(c=Count("pk"))
        .order_by()
    )
    project_rows = [
        {
            "project": p,
            "stability": project_snaps.get(p.pk, {}).get("stability_index"),
            "cfr": project_snaps.get(p.pk, {}).get("change_failure_rate"),
            "mttr": project_snaps.get(p.pk, {}).get("mttr_hours"),
            "active_releases": counts.get(p.pk, 0),
        }
        for p in projects
    ]
    alerts = list(selectors.active_alerts(project_ids=[p.pk for p in projects])[:20])
    figure = None
    if rows:
        shown = [(r["project_key"], r["version"], r["risk"], r["band"], r["dashboard_url"]) for r in rows]
        figure = _cached_charts(
            "portfolio",
            _digest(shown),
            lambda: charts.to_json(charts.risk_by_release_figure(rows)),
        )
    return {"rows": rows, "project_rows": project_rows, "figure": figure, "alerts": alerts}
