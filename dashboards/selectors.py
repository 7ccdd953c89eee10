"""Read models of the three dashboards: plain dicts and Plotly JSON, from snapshots, in a bounded number of queries.

A page never writes: a scope without snapshots yet is computed in memory for the page (nothing is stored; the
next recompute after a change, or the nightly snapshot, stores it).
"""

import datetime as dt

from django.db.models import Count
from django.utils import timezone

from gates.selectors import expired_waivers, gate_status_by_release
from incidents.selectors import open_incidents, overdue_action_items
from metrics import selectors as metric_selectors
from metrics.calibration import calibration
from metrics.economics import costs_of, economics
from metrics.models import MetricSnapshot, Scope
from metrics.policy import policy_for, risk_band
from metrics.project_metrics import project_metrics
from metrics.registry import (
    MEASURE_KEYS,
    PROJECT_KEYS,
    REGISTRY,
    MetricDefinition,
    definitions_for,
)
from metrics.risk_selectors import project_calibration
from releases.models import ACTIVE_RELEASE_STATUSES, Project, Release

from . import charts
from .figures import cached_charts, charts_stamp, digest, project_charts, release_charts
from .tiles import (
    TILE_KEYS,
    TREND_DAYS,
    format_value,
    project_tile_url,
    release_tile_links,
    thresholds_text,
    tile,
)


def _unsaved(results: dict, *, scope: str, project: Project, release: Release | None, now) -> dict:
    """Snapshots of freshly computed values for a page, not saved."""
    return {
        key: MetricSnapshot(
            scope=scope,
            project=project,
            release=release,
            key=key,
            value=r.value,
            n=r.n,
            details=r.details,
            as_of=now,
            computed_at=now,
        )
        for key, r in results.items()
    }


def _project_snapshots(project: Project, snaps: dict, now) -> dict:
    """The project's latest snapshots, any missing key computed in memory."""
    if all(k in snaps for k in PROJECT_KEYS):
        return snaps
    fresh = _unsaved(
        project_metrics(project=project, as_of=now),
        scope=Scope.PROJECT,
        project=project,
        release=None,
        now=now,
    )
    return {**fresh, **snaps}


def release_snapshots(releases: list[Release]) -> dict[int, dict]:
    """Each release's (and its project's) figures for now: the latest snapshots while they are current (no evidence
    changed after them), else values computed for this page (not stored, marked `updating` while a recompute is
    queued). The same figures the metrics API answers by default."""
    return metric_selectors.current_release_figures(releases=releases)


def release_dashboard(*, release: Release) -> dict:
    """Everything the release dashboard shows."""
    snaps = release_snapshots([release])[release.pk]
    now = timezone.now()
    before = metric_selectors.release_metrics_before(
        release_ids=[release.pk], before=now - dt.timedelta(days=TREND_DAYS)
    )
    before = before[release.pk]
    tile_links = release_tile_links(release, snaps)
    tiles = [
        tile(
            k,
            snaps.get(k),
            before.get(k),
            url=tile_links.get(k, ("", ()))[0],
            links=tile_links.get(k, ("", ()))[1],
        )
        for k in TILE_KEYS
    ]
    definitions = definitions_for(release.project)
    evidence_url = f"/releases/{release.pk}/evidence/"
    measures = {
        k: definitions[k]
        for k in (*MEASURE_KEYS, *(k for k in definitions if k not in REGISTRY))
        if k in definitions
    }
    measure_tiles = [
        tile(k, snaps.get(k), before.get(k), url=evidence_url, definition=d) for k, d in measures.items()
    ]
    risk = snaps.get("release_risk_score")
    indicators = []
    for row in risk.details.get("indicators", []) if risk else []:
        # a custom key the project has removed since keeps its row, named by its key
        definition = definitions.get(row["key"]) or MetricDefinition(
            row["key"], row["key"], "", "release", True, ""
        )
        indicators.append(
            {
                **row,
                "label": definition.label,
                "display": format_value(row["value"], definition.unit),
                "threshold_text": thresholds_text(row, definition.unit),
            }
        )

    figures, chart_points = cached_charts(
        f"release:{release.pk}",
        charts_stamp(snaps.values(), now, extra=[(k, d.label, d.unit) for k, d in measures.items()]),
        lambda: release_charts(release=release, now=now, measures=measures),
    )
    gate = gate_status_by_release(releases=[release])[release.pk]
    return {
        "release": release,
        "project": release.project,
        "tiles": tiles,
        "measure_tiles": measure_tiles,
        "risk": risk,
        "risk_band": (risk.details.get("band") if risk else None),
        "indicators": indicators,
        "figures": figures,
        "chart_points": chart_points,
        "gate": gate,
        "expired_waivers": list(expired_waivers(release=release)[:20]),
        "alerts": list(metric_selectors.active_alerts(release_ids=[release.pk])[:20]),
        "computed_at": risk.computed_at if risk else None,
        "as_of": risk.as_of if risk else None,
        "updating": any(getattr(s, "updating", False) for s in snaps.values()),
        "project_tiles": [tile(k, snaps.get(k), None) for k in PROJECT_KEYS],
    }


def project_dashboard(*, project) -> dict:
    """Everything the project dashboard shows."""
    releases = list(project.releases.order_by("-created_at", "-id")[:50])
    snaps = release_snapshots(releases) if releases else {}
    project_snaps = metric_selectors.latest_project_metrics(project_ids=[project.pk]).get(project.pk, {})
    now = timezone.now()
    project_snaps = _project_snapshots(project, project_snaps, now)
    before = metric_selectors.project_metrics_before(
        project_id=project.pk, before=now - dt.timedelta(days=TREND_DAYS)
    )
    tiles = [
        tile(
            k,
            project_snaps.get(k),
            before.get(k),
            url=project_tile_url(project, k, project_snaps.get(k)),
        )
        for k in PROJECT_KEYS
    ]
    gates = gate_status_by_release(releases=releases)
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
    stamp = charts_stamp(
        project_snaps.values(), now, extra=[(r.pk, r.version, r.actual_release_date) for r in releases]
    )
    figures, _ = cached_charts(
        f"project:{project.pk}",
        stamp,
        lambda: (project_charts(project=project, releases=releases, now=now), {}),
    )
    cal = project_calibration(project=project)
    return {
        "project": project,
        "calibration": cal,
        "calibration_figure": charts.to_json(charts.calibration_figure(cal)) if cal["overall"]["n"] else None,
        "tiles": tiles,
        "mttr_details": project_snaps["mttr_hours"].details if "mttr_hours" in project_snaps else {},
        "rows": rows,
        "figures": figures,
        "overdue_items": list(overdue_action_items(project=project)[:50]),
        "open_incidents": list(open_incidents(project=project)[:20]),
        "expired_waivers": list(expired_waivers(project=project)[:20]),
        "alerts": list(metric_selectors.active_alerts(project_ids=[project.pk])[:20]),
    }


def portfolio(*, projects) -> dict:
    """Every project and active release the user can see, with risk band, blocking defects, gate status, days
    to the planned release date and, where the project's policy sets costs, the economics of going now
    (metrics.economics), riskiest first."""
    today = timezone.now().date()
    projects = list(projects)
    releases = list(
        Release.objects.filter(project__in=projects, status__in=ACTIVE_RELEASE_STATUSES).select_related(
            "project"
        )
    )
    snaps = release_snapshots(releases) if releases else {}
    gates = gate_status_by_release(releases=releases)
    # The expected cost of going now where the project's policy sets costs: one calibration and one policy read
    # per project with active releases, whatever the number of releases.
    now = timezone.now()
    priced = {}
    for project in {r.project for r in releases}:
        policy = policy_for(project, as_of=now)
        if costs_of(policy) is not None:
            priced[project.pk] = (policy, calibration(project=project, as_of=now))
    rows = []
    for release in releases:
        s = snaps.get(release.pk, {})
        risk = s.get("release_risk_score")
        planned = release.planned_release_date
        economics_now = None
        if release.project_id in priced and risk is not None:
            policy, cal = priced[release.project_id]
            economics_now = economics(
                band=risk_band(risk.value), score=risk.value, calibration=cal, policy=policy
            )
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
                "economics": economics_now,
                "dashboard_url": f"/releases/{release.pk}/dashboard/",
                "blocking_url": f"/defects/?release={release.pk}&status=open&severity=blocker,critical",
            }
        )
    rows.sort(key=lambda r: (-(r["risk"] if r["risk"] is not None else -1), r["project_key"], r["version"]))
    stored = metric_selectors.latest_project_metrics(project_ids=[p.pk for p in projects])
    # A project without snapshots: the values computed for one of its releases above, if it has any.
    computed = {r.project_id: snaps[r.pk] for r in releases}
    project_snaps = {p.pk: stored.get(p.pk) or computed.get(p.pk, {}) for p in projects}
    counts = dict(
        Release.objects.filter(project__in=projects, status__in=ACTIVE_RELEASE_STATUSES)
        .values_list("project")
        .annotate(c=Count("pk"))
        .order_by()
    )
    project_rows = [
        {
            "project": p,
            "stability": project_snaps[p.pk].get("stability_index"),
            "cfr": project_snaps[p.pk].get("change_failure_rate"),
            "mttr": project_snaps[p.pk].get("mttr_hours"),
            "active_releases": counts.get(p.pk, 0),
        }
        for p in projects
    ]
    alerts = list(metric_selectors.active_alerts(project_ids=[p.pk for p in projects])[:20])
    figure = None
    if rows:
        shown = [(r["project_key"], r["version"], r["risk"], r["band"], r["dashboard_url"]) for r in rows]
        figure = cached_charts(
            "portfolio",
            digest(shown),
            lambda: charts.to_json(charts.risk_by_release_figure(rows)),
        )
    return {"rows": rows, "project_rows": project_rows, "figure": figure, "alerts": alerts}
