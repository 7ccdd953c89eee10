"""The dashboards' Plotly figures (the expensive part: flow queries and plotly), cached while the scope's
snapshots are unchanged."""

import datetime as dt
import hashlib

from django.core.cache import cache

from metrics.flow import defect_flow
from metrics.models import MetricSnapshot, Scope
from metrics.registry import PROJECT_KEYS, REGISTRY, MetricDefinition
from releases.models import Release
from testing.models import RunStatus, TestRun

from . import charts

CHART_DAYS = 30
PROJECT_CHART_DAYS = 90
CHARTS_CACHE_SECONDS = 15 * 60


def digest(value) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:24]


def charts_stamp(snapshots, now: dt.datetime, *, extra=()) -> str:
    """What the charts depend on, in a few bytes: the newest snapshot of the scope (every recompute after an event
    writes new ones), today's date (the day buckets) and `extra` (e.g. the releases marked on a project chart)."""
    newest = max((s.computed_at for s in snapshots), default=None)
    return digest((newest.isoformat() if newest else "", now.date().isoformat(), list(extra)))


def cached_charts(scope: str, stamp: str, build):
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


PERCENTILE_LABELS = {"median": "Median", "p90": "90th percentile"}


def with_percentiles(points: list[dict], *, key: str) -> dict[str, list[dict]]:
    """The mean series of a time metric plus its median and p90 (kept in each snapshot's details)."""
    out = {key: points}
    for part in ("median", "p90"):
        out[part] = [{**p, "value": (p.get("details") or {}).get(part)} for p in points]
    return out


def _metric_chart(
    series: dict[str, list[dict]], keys: tuple[str, ...], title: str, y_title: str, list_url: str, **options
) -> str:
    """A chart over time of the series of `keys` as JSON, each line named by the registry's label (median and p90
    too); `options` as charts.series_figure takes them (percent, markers)."""
    labels = {k: REGISTRY[k].label for k in REGISTRY} | PERCENTILE_LABELS
    figure = charts.series_figure(
        {k: series[k] for k in keys},
        title=title,
        y_title=y_title,
        list_url=list_url,
        labels=labels,
        **options,
    )
    return charts.to_json(figure)


def _hours_chart(series: dict[str, list[dict]], key: str, title: str, list_url: str, **options) -> str:
    """The chart of a time metric (hours): its mean over time, with its median and p90 beside it."""
    lines = with_percentiles(series[key], key=key)
    return _metric_chart(lines, tuple(lines), title, "Hours", list_url, **options)


def measure_figures(series: dict[str, list[dict]], measures: dict[str, MetricDefinition], *, list_url: str):
    """One chart per measure key with points (each key has its own unit, so its own y axis), in the given order."""
    out = []
    for key, definition in measures.items():
        points = series.get(key) or []
        if all(p["value"] is None for p in points):  # never measured in the window: the tile says "no data"
            continue
        unit = "" if definition.unit in ("", "count") else f" ({definition.unit})"
        figure = charts.series_figure(
            {key: points},
            title=f"{definition.label} over time",
            y_title=f"{definition.label}{unit}",
            list_url=list_url,
            labels={key: definition.label},
            percent=definition.unit == "%",
        )
        out.append({"key": key, "label": f"{definition.label} over time", "fig": charts.to_json(figure)})
    return out


def release_charts(
    *, release: Release, now: dt.datetime, measures: dict[str, MetricDefinition] | None = None
) -> tuple[dict, dict]:
    """The release dashboard's Plotly figures and their point counts (the expensive part: flow queries, plotly).
    `measures` (key -> definition, built-in and the project's own keys) get one chart each where they have data."""
    measures = measures or {}
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
        keys=["requirement_coverage", "verified_requirements", "defect_mttr_hours", *measures],
        start=start,
        end=now,
        release_id=release.pk,
    )
    figures = {
        "flow": charts.to_json(charts.defect_flow_figure(flow, list_url=defects_url)),
        "severity": charts.to_json(charts.open_by_severity_figure(flow, list_url=defects_url)),
        "runs": charts.to_json(
            charts.pass_rate_per_run_figure(run_rows, list_url=f"/runs/?release={release.pk}")
        ),
        "coverage": _metric_chart(
            series,
            ("requirement_coverage", "verified_requirements"),
            "Requirement coverage and verified share over time",
            "Requirements (%)",
            f"/requirements/?release={release.pk}",
            percent=True,
        ),
        "mttr": _hours_chart(
            series,
            "defect_mttr_hours",
            "Defect MTTR over time (fixed defects)",
            f"{defects_url}&status=resolved_all",
        ),
        "measures": measure_figures(series, measures, list_url=f"/releases/{release.pk}/evidence/"),
    }
    chart_points = {
        "flow": len(flow),
        "runs": len(run_rows),
        "coverage": len(series["requirement_coverage"]),
        "mttr": len(series["defect_mttr_hours"]),
    }
    return figures, chart_points


def project_charts(*, project, releases: list[Release], now: dt.datetime) -> dict:
    """The project dashboard's Plotly figures."""
    start = now - dt.timedelta(days=PROJECT_CHART_DAYS)
    series = _series_for(keys=list(PROJECT_KEYS), start=start, end=now, project_id=project.pk)
    markers = [
        {"x": r.actual_release_date.date().isoformat(), "label": r.version}
        for r in releases
        if r.actual_release_date and r.actual_release_date >= start
    ]
    flow = defect_flow(project=project, start=start, end=now, bucket="week")
    figures = {
        "stability": _metric_chart(
            series,
            ("stability_index",),
            "Stability index over time (releases marked)",
            "Stability index (0-100)",
            f"/projects/{project.key}/dashboard/",
            markers=markers,
        ),
        "cfr": _metric_chart(
            series,
            ("change_failure_rate",),
            "Change failure rate over time",
            "Failed deployments (%)",
            f"/releases/?project={project.key}",
            percent=True,
            markers=markers,
        ),
        "mttr": _hours_chart(
            series,
            "mttr_hours",
            "Incident MTTR over time (mean time to restore)",
            f"/incidents/?project={project.key}",
            markers=markers,
        ),
        "flow": charts.to_json(
            charts.defect_flow_figure(flow, list_url=f"/defects/?project={project.key}", bucket="week")
        ),
    }
    return figures
